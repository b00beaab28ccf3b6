"""Every new balancing method on every backbone (or a one-sentence refusal) and with every curriculum arm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from spcl_diag import RunConfig
from spcl_diag.curriculum.arms import ARMS, PACED_ARMS
from spcl_diag.data.registry import resolve_dataset
from spcl_diag.errors import ConfigError
from spcl_diag.models import BACKBONES
from spcl_diag.train.loop import train_run

from ..models.conftest import TINY_MODELS

NEW_METHODS = ("uni-aux", "g-blending", "pmr", "agm", "mmpareto")
PURE = sorted(name for name, spec in BACKBONES.items() if spec.cls.PURE_HEADS)
ONE_EPOCH = {
    "train.epochs": 1, "train.batch_size": 4, "data.synthetic.n_dialogues": 8,
    "data.synthetic.min_length": 2, "data.synthetic.max_length": 5,
}


def _train(config: RunConfig, pacing=None):
    config = config.resolved()
    dataset = resolve_dataset(config.dataset, config.data, modalities=config.modalities)
    outcome = train_run(config, dataset, device=torch.device("cpu"), pacing=pacing)
    losses = [value for _, split, _, metric, value in outcome.rows if metric == "loss" and split == "train"]
    assert np.isfinite(losses).all()
    return outcome


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
@pytest.mark.parametrize("method", NEW_METHODS)
def test_every_backbone_trains_or_is_refused_with_the_reason(backbone, method):
    overrides = {**ONE_EPOCH, **{f"model.{k}": v for k, v in TINY_MODELS[backbone].items()}}
    build = lambda: RunConfig(backbone=backbone, modalities="ta", balancing=method).with_overrides(overrides)
    if method != "agm" and backbone not in PURE:
        with pytest.raises(ConfigError, match=f"balancing '{method}' cannot train backbone '{backbone}': it needs pure"):
            build()
        return
    rows = _train(build()).rows
    assert any(split == "train" and scope in ("t", "a") and metric not in ("loss", "acc", "wf1", "gold_prob",
               "grad_norm", "disparity_ratio") for _, split, scope, metric, _ in rows)  # the method logged something


@pytest.mark.parametrize("method", NEW_METHODS)
def test_every_method_combines_with_every_curriculum_arm(method):
    overrides = {**ONE_EPOCH, "model.hidden_dim": 8, "model.feedforward_dim": 16}
    config = RunConfig(modalities="ta", balancing=method).with_overrides(overrides)
    pacing = _train(config.paired("spcl")).pacing
    for arm in ARMS:
        if arm != "spcl":
            _train(config.paired(arm), pacing=pacing if arm in PACED_ARMS else None)


def test_pure_backbones_are_the_three_single_modality_networks():
    assert PURE == ["biddin", "dialogue_gcn", "late_fusion"]


@pytest.mark.parametrize(("method", "neutral"), [
    ("uni-aux", {"balancing_config.weight": 0.0}),
    ("pmr", {"balancing_config.alpha": 0.0, "balancing_config.mu": 0.0}),
    ("agm", {"balancing_config.alpha": 0.0}),
])
def test_cells_of_one_seed_are_paired_across_balancing(method, neutral):
    """A method switched off by its own setting reproduces the ``none`` cell bit for bit: same
    initial weights, batch order and dropout stream (AGM's masked passes draw no random numbers)."""
    overrides = {**ONE_EPOCH, "model.hidden_dim": 8, "model.feedforward_dim": 16, "train.epochs": 2}
    cells = [RunConfig(modalities="ta", curriculum="spcl", balancing=b, seed=4).with_overrides(overrides)
             for b in ("none", method)]
    cells[1] = cells[1].with_overrides(neutral)
    shared = ["loss", "acc", "wf1", "gold_prob", "grad_norm", "kept_fraction"]
    tables = [pd.DataFrame(_train(c).rows, columns=["epoch", "split", "scope", "metric", "value"]) for c in cells]
    tables = [t[t.metric.isin(shared)].reset_index(drop=True) for t in tables]
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
