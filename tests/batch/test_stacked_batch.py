"""``spcl-diag batch --stack arms``: stacked arms write the run directories of solo runs (issue 19, item 1)."""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from spcl_diag import RunConfig, register_backbone, run
from spcl_diag.batch import Grid, executors, run_batch
from spcl_diag.batch.runner import STACK_MODES
from spcl_diag.batch.task import StackTask
from spcl_diag.cli import batch_cmd
from spcl_diag.cli.main import main
from spcl_diag.models import Backbone, ModelOutput
from spcl_diag.runs import directory as rd
from spcl_diag.runs.stack import run_stack

from ..conftest import TINY

ARMS = ("none", "spcl", "random", "anti")
TOLERANCE = 1e-5
SMALL = {**TINY, "model.hidden_dim": 8, "model.feedforward_dim": 16}
TIMING = {"wall_seconds", "train_seconds"}


def grid(**overrides) -> Grid:
    return Grid(curriculum=ARMS, seed=(0,), overrides={**SMALL, **overrides})


def numbers(value, prefix=""):
    """Flattened numeric leaves of a result.json, timings and the stack record left out."""
    if isinstance(value, dict):
        items = {}
        for key, item in value.items():
            if key not in TIMING and key != "stack":
                items.update(numbers(item, f"{prefix}{key}."))
        return items
    return {prefix: float(value)} if isinstance(value, (int, float)) else {}


def assert_same_run(stacked: Path, solo: Path, tolerance: float = TOLERANCE) -> None:
    frames = [pd.read_csv(p / rd.EPOCHS) for p in (stacked, solo)]
    frames = [f[f["metric"] != "wall_seconds"].reset_index(drop=True) for f in frames]
    pd.testing.assert_frame_equal(frames[0], frames[1], atol=tolerance, rtol=0)
    with np.load(stacked / rd.DIFFICULTY) as a, np.load(solo / rd.DIFFICULTY) as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            if a[key].dtype.kind in "biuUSO":  # masks, ids, labels: exactly equal
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
            else:  # float16 on disk: values within tolerance may round one float16 step apart
                step = np.spacing(np.abs(b[key])).astype(float) if b[key].dtype == np.float16 else 0.0
                apart = np.abs(a[key].astype(float) - b[key].astype(float)) > tolerance + step
                apart |= np.isnan(a[key]) != np.isnan(b[key])
                assert not apart.any(), f"{key}: {a[key][apart]} (stacked) vs {b[key][apart]} (solo)"
    results = [numbers(json.loads((p / rd.RESULT).read_text())) for p in (stacked, solo)]
    assert results[0].keys() == results[1].keys()
    for key, expected in results[1].items():
        got = results[0][key]
        assert (math.isnan(got) and math.isnan(expected)) or abs(got - expected) <= tolerance, key


def test_stacked_batch_writes_what_solo_runs_write_and_resumes(tmp_path):
    stacked = run_batch(grid(), tmp_path / "stacked", device="cpu", progress=False, stack="arms")
    solo = run_batch(grid(), tmp_path / "solo", device="cpu", progress=False)
    assert stacked.line() == solo.line() == "4 runs: 4 done, 0 skipped, 0 failed"
    ids = sorted(o.run_id for o in solo.outcomes)
    assert sorted(o.run_id for o in stacked.outcomes) == ids
    for run_id in ids:
        assert_same_run(tmp_path / "stacked" / run_id, tmp_path / "solo" / run_id)
        recorded = json.loads((tmp_path / "stacked" / run_id / rd.CONFIG).read_text())["stack"]
        assert sorted(recorded["arms"]) == sorted(ARMS) and sorted(recorded["runs"]) == ids
    again = run_batch(grid(), tmp_path / "stacked", device="cpu", progress=False, stack="arms")
    assert again.line() == "4 runs: 0 done, 4 skipped, 0 failed"


def test_a_stacked_batch_stacks_a_stackable_balancing_method_and_trains_the_others_solo(tmp_path):
    """uni-aux's arms train as one stack (its heads per arm) and equal the solo batch within 1e-4; agm's train solo."""
    arms = ("none", "spcl", "random")
    methods = Grid(curriculum=arms, balancing=("uni-aux", "agm"), seed=(0,), overrides=SMALL)
    stacked = run_batch(methods, tmp_path / "stacked", device="cpu", progress=False, stack="arms")
    solo = run_batch(methods, tmp_path / "solo", device="cpu", progress=False)
    assert stacked.line() == solo.line() == "6 runs: 6 done, 0 skipped, 0 failed"
    for outcome in solo.outcomes:
        record = json.loads((tmp_path / "stacked" / outcome.run_id / rd.CONFIG).read_text())
        if record["config"]["balancing"] == "uni-aux":
            assert sorted(record["stack"]["arms"]) == sorted(arms)
        else:
            assert "stack" not in record
        assert_same_run(tmp_path / "stacked" / outcome.run_id, tmp_path / "solo" / outcome.run_id, tolerance=1e-4)


def test_a_stack_trains_only_the_unfinished_arms_and_replays_a_finished_twin(tmp_path):
    base = RunConfig(curriculum="spcl").with_overrides(SMALL)
    first = run(base, tmp_path, device="cpu")
    results = run_stack([base.paired(a) for a in ARMS], tmp_path, device="cpu")
    assert all(not isinstance(r, Exception) and r.status == "ok" for r in results)
    assert "stack" not in results[1].result  # the finished spcl run was read back, not trained again
    assert results[2].result["stack"]["arms"] == ["none", "random", "anti"]
    with np.load(first.path / rd.PACING) as spcl, np.load(results[2].path / rd.PACING) as random:
        np.testing.assert_array_equal(spcl["kept"], random["kept"])


def test_batch_cli_stacks_arms(tmp_path, capsys):
    path = tmp_path / "grid.toml"
    overrides = "\n".join(f'"{k}" = {v}' for k, v in SMALL.items())
    path.write_text(f'curriculum = ["none", "spcl"]\nseed = [0]\n\n[overrides]\n{overrides}\n')
    assert main(["batch", str(path), "--out", str(tmp_path / "runs"), "--device", "cpu", "--stack", "arms", "--quiet"]) == 0
    assert "2 runs: 2 done, 0 skipped, 0 failed" in capsys.readouterr().out
    assert batch_cmd.STACK_MODES == STACK_MODES


def test_a_diverging_stack_records_its_failures_like_solo_runs(tmp_path):
    summary = run_batch(grid(**{"train.lr": 1e12}), tmp_path, device="cpu", progress=False, stack="arms")
    by_arm = {json.loads((tmp_path / o.run_id / rd.CONFIG).read_text())["config"]["curriculum"]: o
              for o in summary.outcomes if (tmp_path / o.run_id).is_dir()}
    assert {o.status for o in summary.outcomes} == {"failed"}
    assert set(by_arm) == {"none", "spcl"}  # the paced arms of a failed spcl arm record nothing, as solo
    assert all("NaN or infinite" in o.message for o in by_arm.values())
    paced = [o for o in summary.outcomes if o.run_id not in {b.run_id for b in by_arm.values()}]
    assert len(paced) == 2 and all("paired spcl arm failed" in o.message for o in paced)


@dataclass(frozen=True)
class ReadsValuesConfig:
    hidden_dim: int = 8


class ReadsValues(Backbone):
    """Reads a tensor value in Python, which torch.func.vmap cannot trace."""

    def __init__(self, modalities, dims, n_classes, n_speakers, config=ReadsValuesConfig()):
        super().__init__(modalities, n_classes)
        for m in self.modalities:
            self.branches[m] = nn.Linear(dims[m], n_classes)

    def forward(self, batch):
        logits = {m: self.branches[m](batch.flatten(batch.features[m])) for m in self.modalities}
        joint = torch.stack(list(logits.values())).sum(0)
        scale = 1.0 if joint.abs().max().item() < 1e6 else 0.5
        return ModelOutput(joint=joint * scale, per_modality=logits)


def test_an_unstackable_backbone_trains_its_runs_one_at_a_time(tmp_path, backbone_registry):
    register_backbone("test_reads_values", ReadsValues, ReadsValuesConfig)
    base = RunConfig(backbone="test_reads_values").with_overrides({k: v for k, v in TINY.items() if not k.startswith("model.")})
    with pytest.warns(UserWarning, match="cannot be stacked.*one at a time"):
        results = run_stack([base.paired(a) for a in ("none", "spcl")], tmp_path, device="cpu")
    assert [r.status for r in results] == ["ok", "ok"]  # type: ignore[union-attr]
    assert all("stack" not in r.result for r in results)  # type: ignore[union-attr]
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary folder of the abandoned stack is left


def test_stack_mode_is_checked():
    with pytest.raises(Exception, match="stack must be one of arms"):
        run_batch(grid(), "unused", stack="seeds")


def test_a_dead_stack_worker_is_reported_per_run(tmp_path):
    base = RunConfig().with_overrides(SMALL)
    task = StackTask(tuple(base.paired(a).to_dict() for a in ("none", "spcl")), str(tmp_path))
    outcome = executors._lost(task, RuntimeError("killed"))
    assert outcome.status == "failed" and [o.run_id for o in outcome.runs()] == list(task.run_ids)
    assert all("worker died" in o.message for o in outcome.runs())


# the same backbone as a plugin file, for the batch's worker processes to import
UNSTACKABLE_PLUGIN = "\n\n".join([
    ("from dataclasses import dataclass\nimport torch\nfrom torch import nn\nfrom spcl_diag import register_backbone\n"
     "from spcl_diag.models import Backbone, ModelOutput"),
    inspect.getsource(ReadsValuesConfig), inspect.getsource(ReadsValues),
    'register_backbone("NAME", ReadsValues, ReadsValuesConfig)\n',
])


def test_an_unstackable_backbone_is_said_once_by_a_batch_with_several_workers(tmp_path, monkeypatch, capfd,
                                                                              backbone_registry):
    module = f"reads_values_{tmp_path.name[-12:].replace('-', '_')}"
    monkeypatch.chdir(tmp_path)
    (tmp_path / f"{module}.py").write_text(UNSTACKABLE_PLUGIN.replace("NAME", module))
    overrides = "".join(f'"{k}" = {v}\n' for k, v in {**TINY, "train.epochs": 1}.items() if not k.startswith("model."))
    (tmp_path / "grid.toml").write_text(f'plugins = ["{module}"]\nbackbone = ["{module}"]\n'
                                        f'curriculum = ["none", "spcl"]\nseed = [0, 1]\n[overrides]\n{overrides}')
    assert main(["batch", "grid.toml", "--out", "runs", "--device", "cpu", "--quiet", "--stack", "arms",
                 "--jobs", "2"]) == 0
    out, err = capfd.readouterr()
    assert "4 runs: 4 done" in out
    said = [line for line in err.splitlines() if "train one at a time" in line]
    assert len(said) == 1 and said[0].startswith("spcl-diag: warning: backbone ReadsValues cannot be stacked"), err
