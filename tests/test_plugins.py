"""Plugins used as a researcher would: a module in the working folder, named on the command line."""

from __future__ import annotations

import json
import textwrap

import pytest

from spcl_diag import load_runs
from spcl_diag.cli.main import main
from spcl_diag.plugins import PluginError, import_plugin, plugin_hash

PLUGIN = textwrap.dedent(
    '''
    """A researcher's backbone: per-modality MLP over each utterance and its dialogue mean."""
    from dataclasses import dataclass

    import torch
    from torch import nn

    from spcl_diag import register_backbone
    from spcl_diag.models import Backbone, ModelOutput


    @dataclass(frozen=True)
    class MeanPoolConfig:
        hidden_dim: int = HIDDEN  # width of each modality's hidden layer


    class MeanPool(Backbone):
        def __init__(self, modalities, dims, n_classes, n_speakers, config=MeanPoolConfig()):
            super().__init__(modalities, n_classes)
            for m in self.modalities:
                self.branches[m] = nn.Sequential(
                    nn.Linear(2 * dims[m], config.hidden_dim), nn.ReLU(), nn.Linear(config.hidden_dim, n_classes)
                )

        def forward(self, batch):
            lengths = batch.lengths.clamp_min(1)[:, None, None]
            logits = {}
            for m in self.modalities:
                x = batch.features[m]  # [B, L, d_m]
                context = (x.sum(1, keepdim=True) / lengths).expand_as(x)
                logits[m] = self.branches[m](batch.flatten(torch.cat([x, context], -1)))
            return ModelOutput(joint=torch.stack(list(logits.values())).sum(0), per_modality=logits)


    register_backbone("NAME", MeanPool, MeanPoolConfig)
    '''
)

GRID = textwrap.dedent(
    """
    plugins = ["MODULE"]
    backbone = ["NAME"]
    curriculum = ["none", "spcl"]
    seed = [0]

    [overrides]
    "train.epochs" = 1
    "train.batch_size" = 4
    "data.synthetic.n_dialogues" = 12
    "data.synthetic.min_length" = 3
    "data.synthetic.max_length" = 8
    "model.hidden_dim" = 8
    """
)


def write_plugin(folder, module: str, *, hidden: int) -> None:
    (folder / f"{module}.py").write_text(PLUGIN.replace("HIDDEN", str(hidden)).replace("NAME", module))


def test_plugin_batch_with_two_jobs_then_an_edited_plugin_retrains(tmp_path, monkeypatch, capsys, backbone_registry):
    module = f"mean_pool_{tmp_path.name[-12:].replace('-', '_')}"
    monkeypatch.chdir(tmp_path)
    write_plugin(tmp_path, module, hidden=12)
    (tmp_path / "grid.toml").write_text(GRID.replace("MODULE", module).replace("NAME", module)
                                        .replace('"model.hidden_dim" = 8\n', ""))
    local = ["batch", "grid.toml", "--out", "runs", "--device", "cpu", "--quiet"]
    assert main([*local, "--jobs", "2"]) == 0  # a process pool: each worker imports the plugin
    assert capsys.readouterr().out.strip().endswith("2 runs: 2 done, 0 skipped, 0 failed")
    first = load_runs(tmp_path / "runs").results
    assert set(first["backbone"]) == {module} and set(first["status"]) == {"ok"}
    config = json.loads((tmp_path / "runs" / first["run_id"][0] / "config.json").read_text())
    assert config["plugins"] == {module: plugin_hash(module)}

    assert main(local) == 0  # unchanged plugin: nothing to do
    assert "0 done, 2 skipped" in capsys.readouterr().out

    write_plugin(tmp_path, module, hidden=20)  # edit the plugin: its runs are new experiments
    assert main(local) == 0
    assert "2 runs: 2 done, 0 skipped" in capsys.readouterr().out
    with pytest.warns(UserWarning, match="imported 2 versions of their plugins' source"):
        both = load_runs(tmp_path / "runs").results
    assert both["plugin_sources"].nunique() == 2
    assert len(both) == 4
    n_params = both.groupby("run_id")["n_parameters"].first()
    assert n_params[first["run_id"]].nunique() == 1
    assert set(n_params.drop(first["run_id"])) != set(n_params[first["run_id"]])  # the edited code ran


def test_an_unimportable_plugin_is_one_line_naming_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--plugin", "no_such_plugin_xyz", "--out", "runs"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "plugin 'no_such_plugin_xyz' cannot be imported" in err
    (tmp_path / "broken_plugin_xyz.py").write_text("import torch\nraise RuntimeError('boom\\nsecond line')\n")
    (tmp_path / "grid.toml").write_text('plugins = ["broken_plugin_xyz"]\nseed = [0]\n')
    assert main(["batch", "grid.toml", "--out", "runs", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "plugin 'broken_plugin_xyz' cannot be imported (RuntimeError: boom second line)" in err
    assert "Traceback" not in err


def test_plugin_hash_covers_a_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    package = tmp_path / "pkg_plugin_xyz"
    package.mkdir()
    (package / "__init__.py").write_text("from . import inner\n")
    (package / "inner.py").write_text("VALUE = 1\n")
    before = plugin_hash("pkg_plugin_xyz")
    assert import_plugin("pkg_plugin_xyz").inner.VALUE == 1
    (package / "inner.py").write_text("VALUE = 22\n")
    assert plugin_hash("pkg_plugin_xyz") != before
    with pytest.raises(PluginError, match="pkg_plugin_xyz.nope"):
        plugin_hash("pkg_plugin_xyz.nope")
