"""The training loop: optimiser choice and matmul precision."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spcl_diag.data.registry import resolve_dataset
from spcl_diag.train import loop, optimisation


@pytest.mark.skipif(not loop.has_fused_adam(torch.device("cpu")), reason="fused Adam on CPU needs torch >= 2.4")
def test_fused_adam_trains_like_the_per_parameter_update(tiny_config, monkeypatch):
    config = tiny_config.paired("spcl").with_overrides({"model.drop_rate": 0.0, "train.weight_decay": 1e-3}).resolved()
    dataset = resolve_dataset(config.dataset, config.data, modalities=config.modalities)

    def losses() -> np.ndarray:
        outcome = loop.train_run(config, dataset, device=torch.device("cpu"))
        return np.array([value for _, split, scope, metric, value in outcome.rows
                         if (split, scope, metric) == ("train", "joint", "loss")])

    fused = losses()
    monkeypatch.setattr(optimisation, "has_fused_adam", lambda device: False)
    per_parameter = losses()
    assert len(fused) == config.train.epochs
    np.testing.assert_allclose(fused, per_parameter, rtol=1e-4, atol=1e-6)


def test_a_non_finite_loss_stops_training_in_that_epoch(tiny_config):
    from spcl_diag.data.registry import resolve_dataset
    from spcl_diag.errors import NonFiniteLossError

    config = tiny_config.with_overrides({"train.lr": 1e30}).resolved()
    dataset = resolve_dataset(config.dataset, config.data, modalities=config.modalities)
    with pytest.raises(NonFiniteLossError, match="NaN or infinite in epoch 1 of 3") as info:
        loop.train_run(config, dataset, device=torch.device("cpu"))
    assert info.value.epoch == 1


def test_the_run_sets_its_matmul_precision(tiny_config):
    dataset = resolve_dataset(tiny_config.dataset, tiny_config.data, modalities=tiny_config.modalities, seed=0)
    before = torch.get_float32_matmul_precision()
    try:
        config = tiny_config.with_overrides({"train.matmul_precision": "high", "train.epochs": 1}).resolved()
        loop.train_run(config, dataset, device=torch.device("cpu"))
        assert torch.get_float32_matmul_precision() == "high"
        loop.train_run(config.with_overrides({"train.matmul_precision": "highest"}), dataset, device=torch.device("cpu"))
        assert torch.get_float32_matmul_precision() == "highest"
    finally:
        torch.set_float32_matmul_precision(before)
