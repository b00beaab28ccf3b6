"""Recurrent backbones under ``--stack arms``: every arm trains as its solo run does (issue 30, item 1)."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from spcl_diag import RunConfig, register_backbone
from spcl_diag.cli.main import main
from spcl_diag.models import Backbone, ModelOutput
from spcl_diag.train.loop import TrainingOutcome
from spcl_diag.train.stacked import train_stacked

from ..batch.test_stacked_batch import assert_same_run
from .test_stacked import CPU, SMALL, assert_same_training, run_data, solo_outcomes

EXTENDING = Path(__file__).resolve().parents[2] / "docs" / "extending.md"


@dataclass(frozen=True)
class RecurrentConfig:
    hidden_dim: int = 8


class Recurrent(Backbone):
    """Per modality: a bidirectional two-layer GRU with dropout between its layers, an LSTM cell stepped
    over its states, dropout and a linear head."""

    def __init__(self, modalities, dims, n_classes, n_speakers, config=RecurrentConfig()):
        super().__init__(modalities, n_classes)
        h = config.hidden_dim
        for m in self.modalities:
            self.branches[m] = nn.ModuleDict({
                "gru": nn.GRU(dims[m], h, num_layers=2, dropout=0.3, batch_first=True, bidirectional=True),
                "cell": nn.LSTMCell(2 * h, h),
                "head": nn.Linear(h, n_classes),
            })

    def forward(self, batch):
        features, logits = {}, {}
        for m in self.modalities:
            branch = self.branches[m]
            states, _ = branch["gru"](batch.features[m])  # [B, L, 2h]
            state, steps = None, []
            for t in range(states.shape[1]):
                state = branch["cell"](states[:, t], state)
                steps.append(state[0])
            hidden = nn.functional.dropout(torch.stack(steps, 1), 0.2, self.training)  # [B, L, h]
            features[m] = batch.flatten(hidden)
            logits[m] = branch["head"](features[m])
        return ModelOutput(joint=torch.stack(list(logits.values())).sum(0), per_modality=logits, features=features)


def test_a_recurrent_backbone_stacks_and_every_arm_equals_its_solo_run(backbone_registry):
    """nn.GRU (two layers, bidirectional, dropout between the layers) and nn.LSTMCell run once per arm inside
    the stack: the same selections, and losses, rows and probabilities within 1e-5 of the solo runs."""
    register_backbone("test_recurrent", Recurrent, RecurrentConfig)
    config = RunConfig(backbone="test_recurrent", modalities="ta", curriculum="spcl").with_overrides(
        {**SMALL, "train.epochs": 2}).resolved()
    data = run_data(config)
    arms = ["none", "spcl", "random"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither torch's per-copy fallback nor an unstackable warning
        stacked = train_stacked([config.paired(a) for a in arms], data, device=CPU)
    solo = solo_outcomes(config, data, arms)
    for arm in arms:
        assert isinstance(stacked[arm], TrainingOutcome), stacked[arm]
        assert_same_training(stacked[arm], solo[arm], arm)  # type: ignore[arg-type]


def docs_gru_plugin() -> str:
    """The GRU plugin of docs/extending.md, as a reader saves it."""
    blocks = re.findall(r"```python\n(.*?)```", EXTENDING.read_text(encoding="utf-8"), flags=re.DOTALL)
    return next(block for block in blocks if "class GRUContext" in block)


def test_the_docs_gru_plugin_stacks_from_the_command_line(tmp_path, monkeypatch, capsys, backbone_registry):
    """`spcl-diag batch --stack arms` on the plugin written from docs/extending.md stacks, without a warning
    about it, and each run directory equals the solo batch's."""
    monkeypatch.chdir(tmp_path)
    module = f"gru_context_{tmp_path.name[-12:].replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(docs_gru_plugin())
    overrides = "\n".join(f'"{k}" = {v}' for k, v in SMALL.items())
    (tmp_path / "grid.toml").write_text(f'plugins = ["{module}"]\nbackbone = ["gru_context"]\nmodalities = ["ta"]\n'
                                        f'curriculum = ["none", "spcl", "random"]\nseed = [0]\n\n[overrides]\n{overrides}\n')
    command = ["batch", "grid.toml", "--device", "cpu", "--quiet"]
    assert main([*command, "--out", "stacked", "--stack", "arms"]) == 0
    assert main([*command, "--out", "solo"]) == 0
    err = capsys.readouterr().err
    assert "stack" not in err and "one at a time" not in err and "batching rule" not in err, err
    runs = sorted(p.parent.name for p in (tmp_path / "solo").glob("*/result.json"))
    assert len(runs) == 3 and runs == sorted(p.parent.name for p in (tmp_path / "stacked").glob("*/result.json"))
    for run_id in runs:
        assert '"stack"' in (tmp_path / "stacked" / run_id / "result.json").read_text()
        assert_same_run(tmp_path / "stacked" / run_id, tmp_path / "solo" / run_id)
