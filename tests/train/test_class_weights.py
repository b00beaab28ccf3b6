"""Class-weighted joint loss: sklearn's balanced weights; the SPCL difficulty stays unweighted."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight

from spcl_diag.data.registry import resolve_dataset
from spcl_diag.errors import ConfigError
from spcl_diag.train.loop import loss_class_weights, train_run


def test_balanced_weights_are_sklearns():
    labels = np.random.default_rng(0).choice(5, size=200, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    expected = compute_class_weight("balanced", classes=np.arange(5), y=labels)
    np.testing.assert_allclose(loss_class_weights(labels, 5, "balanced").numpy(), expected, rtol=1e-6)
    assert loss_class_weights(labels, 5, "none") is None
    assert loss_class_weights(np.array([0, 0, 2]), 3, "balanced")[1] == 0  # absent from train


def test_weights_change_the_loss_not_the_difficulty(tiny_config):
    # one batch per epoch: the first epoch's difficulty is computed before any update
    config = tiny_config.paired("spcl").with_overrides({"train.epochs": 1, "train.batch_size": 64}).resolved()
    dataset = resolve_dataset(config.dataset, config.data, modalities=config.modalities)
    weighted = config.with_overrides({"train.class_weights": "balanced"})
    plain, balanced = (train_run(c, dataset, device=torch.device("cpu")) for c in (config, weighted))
    for key in "lcd":
        np.testing.assert_array_equal(plain.trajectories[key], balanced.trajectories[key])
    dev_loss = [[v for _, s, c, m, v in o.rows if (s, c, m) == ("dev", "joint", "loss")] for o in (plain, balanced)]
    assert dev_loss[0] != pytest.approx(dev_loss[1], rel=1e-6)
    assert weighted.to_dict()["train"]["class_weights"] == "balanced" and weighted.run_id() != config.run_id()


def test_unknown_class_weights_are_a_config_error(tiny_config):
    with pytest.raises(ConfigError, match="train.class_weights must be one of 'none', 'balanced'; got 'inverse'"):
        tiny_config.with_overrides({"train.class_weights": "inverse"})
