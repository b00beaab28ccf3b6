"""A GRU plugin trains under ``--stack arms`` as its solo runs do (issue 30, item 1)."""

from __future__ import annotations

import textwrap
import warnings
from dataclasses import dataclass

from torch import nn

from spcl_diag import RunConfig, register_backbone
from spcl_diag.cli.main import main
from spcl_diag.models import Backbone, ModelOutput
from spcl_diag.train.loop import TrainingOutcome
from spcl_diag.train.stacked import train_stacked

from ..batch.test_stacked_batch import assert_same_run
from .test_stacked import SMALL, assert_same_training, run_data, solo_outcomes


@dataclass(frozen=True)
class RecurrentConfig:
    hidden_dim: int = 8
    num_layers: int = 2
    dropout: float = 0.3  # between the GRU's layers: drawn in the stack as in the solo run


class Recurrent(Backbone):
    """Per modality a bidirectional two-layer GRU over the dialogue, a GRU cell over its states, a linear head."""

    def __init__(self, modalities, dims, n_classes, n_speakers, config=RecurrentConfig()):
        super().__init__(modalities, n_classes)
        h = config.hidden_dim
        for m in self.modalities:
            self.branches[m] = nn.ModuleDict({
                "gru": nn.GRU(dims[m], h, num_layers=config.num_layers, dropout=config.dropout, batch_first=True,
                              bidirectional=True),
                "cell": nn.GRUCell(2 * h, h),
                "head": nn.Linear(h, n_classes),
            })

    def forward(self, batch):
        features, logits = {}, {}
        for m in self.modalities:
            branch = self.branches[m]
            states, _ = branch["gru"](batch.features[m])  # [B, L, 2h]
            h = states.new_zeros(states.shape[0], branch["cell"].hidden_size)
            steps = []
            for t in range(states.shape[1]):
                h = branch["cell"](states[:, t], h)
                steps.append(h)
            features[m] = batch.flatten(nn.functional.dropout(torch_stack(steps), 0.2, self.training))  # [N, h]
            logits[m] = branch["head"](features[m])
        return ModelOutput(joint=sum(logits.values()), per_modality=logits, features=features)


def torch_stack(steps):
    import torch

    return torch.stack(steps, 1)  # [B, L, h]


def test_a_recurrent_backbone_stacks_and_every_arm_equals_its_solo_run(backbone_registry):
    """nn.GRU (two layers, bidirectional, dropout between layers) and nn.GRUCell inside the stack run once per
    arm with torch's kernels: selections equal, losses, rows and probabilities within 1e-5 of the solo runs."""
    register_backbone("test_recurrent", Recurrent, RecurrentConfig)
    config = RunConfig(backbone="test_recurrent", modalities="ta", curriculum="spcl").with_overrides(
        {k: v for k, v in SMALL.items() if k != "model.hidden_dim"}).resolved()
    data = run_data(config)
    arms = ["none", "spcl", "random", "anti"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "performance drop" fallback, no unstackable warning
        stacked = train_stacked([config.paired(a) for a in arms], data, device=CPU)
    solo = solo_outcomes(config, data, arms)
    for arm in arms:
        assert isinstance(stacked[arm], TrainingOutcome), stacked[arm]
        assert_same_training(stacked[arm], solo[arm], arm)  # type: ignore[arg-type]
