"""OGM-GE and Ada2I gradient modulation: coefficients, gradient edits, logging, determinism."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from spcl_diag import RunConfig, run
from spcl_diag.config.schema import BalancingConfig
from spcl_diag.data.batching import DeviceSplit
from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
from spcl_diag.models import build_backbone
from spcl_diag.models.base import ModelOutput
from spcl_diag.train.balancing import (
    Balancer,
    ada2i_coefficients,
    gold_scores,
    make_balancer,
    ogm_ge_coefficients,
)

from ..conftest import TINY


@pytest.fixture
def setup():
    data = make_synthetic(SyntheticConfig(n_dialogues=8, min_length=3, max_length=5, seed=2))
    batch = next(DeviceSplit(data, "train", "cpu").batches(np.arange(4), 4))
    torch.manual_seed(0)
    model = build_backbone("late_fusion", modalities="tav", dims=data.dims, n_classes=data.n_classes,
                           n_speakers=data.n_speakers, overrides={"hidden_dim": 8, "feedforward_dim": 16})
    return model, batch


def _output_with_scores(batch, probs: dict[str, float], n_classes: int = 6) -> ModelOutput:
    """Per-modality logits whose gold-class probability is exactly ``probs[m]`` on every utterance."""
    logits = {}
    for m, p in probs.items():
        other = (1 - p) / (n_classes - 1)
        z = torch.full((batch.n_utterances, n_classes), math.log(other))
        z[torch.arange(batch.n_utterances), batch.labels] = math.log(p)
        logits[m] = z
    return ModelOutput(joint=sum(logits.values()), per_modality=logits)


def _set_unit_grads(model):
    for p in model.parameters():
        p.grad = torch.ones_like(p)


# ----------------------------------------------------------------------------- formulas
def test_gold_scores_sum_the_gold_probability():
    logits = {"t": torch.log(torch.tensor([[0.7, 0.3], [0.4, 0.6]])), "v": torch.zeros(2, 2)}
    torch.testing.assert_close(gold_scores(logits, torch.tensor([0, 0])), torch.tensor([1.1, 1.0]))


def test_ogm_ge_coefficients_by_hand():
    s = torch.tensor([3.0, 1.0, 2.0])
    ratio, k = ogm_ge_coefficients(s, alpha=0.8)
    expected_ratio = [3 / 1.5, 1 / 2.5, 2 / 2.0]
    torch.testing.assert_close(ratio, torch.tensor(expected_ratio))
    expected_k = [1 - math.tanh(0.8 * r) if r > 1 else 1.0 for r in expected_ratio]
    torch.testing.assert_close(k, torch.tensor(expected_k))


def test_ogm_ge_two_modalities_is_the_papers_ratio():
    ratio, k = ogm_ge_coefficients(torch.tensor([5.0, 2.0]), alpha=0.3)
    torch.testing.assert_close(ratio, torch.tensor([2.5, 0.4]))
    torch.testing.assert_close(k, torch.tensor([1 - math.tanh(0.3 * 2.5), 1.0]))


def test_one_modality_is_never_modulated():
    for fn in (ogm_ge_coefficients, ada2i_coefficients):
        ratio, k = fn(torch.tensor([4.0]), alpha=1.0)
        assert ratio.tolist() == [1.0] and k.tolist() == [1.0]


def test_ada2i_coefficients_by_hand():
    ratio, k = ada2i_coefficients(torch.tensor([3.0, 1.5, 6.0]), alpha=0.037)
    torch.testing.assert_close(ratio, torch.tensor([2.0, 1.0, 4.0]))
    torch.testing.assert_close(k, torch.tensor([1 - math.tanh(0.074), 1.0, 1 - math.tanh(0.148)]))


# ------------------------------------------------------------------------- gradient edits
@pytest.mark.parametrize("method", ["ogm-ge", "ada2i"])
def test_branch_scope_scales_the_whole_branch(method, setup):
    """``scope="branch"`` (the earlier form, kept as an option): every parameter of branch m gets k_m."""
    model, batch = setup
    probs = {"t": 0.8, "a": 0.4, "v": 0.2}
    config = BalancingConfig(alpha=0.5, start_epoch=1, noise=False, scope="branch")
    balancer = make_balancer(method, model=model, config=config, seed=0, epochs=4)
    output = _output_with_scores(batch, probs)
    scores = torch.tensor([probs[m] * batch.n_utterances for m in "tav"])
    _, k = (ogm_ge_coefficients if method == "ogm-ge" else ada2i_coefficients)(scores, alpha=0.5)
    groups = model.parameter_groups()

    _set_unit_grads(model)
    balancer.after_clip(model, output, batch, epoch=0)  # before the window: untouched
    assert all((p.grad == 1).all() for p in model.parameters())

    balancer.after_clip(model, output, batch, epoch=1)
    for i, m in enumerate("tav"):
        for p in groups[m]:
            torch.testing.assert_close(p.grad, torch.full_like(p, float(k[i])))
    assert all((p.grad == 1).all() for p in groups["shared"])
    assert k[0] < 1 and k[2] == 1  # the dominant modality is slowed, the weakest is not

    rows = balancer.epoch_rows()
    torch.testing.assert_close(rows[("modulation", "t")], (1 + k[0]) / 2)  # mean over both steps
    assert balancer.epoch_rows() == {}  # the sums were reset


@pytest.mark.parametrize("method", ["ogm-ge", "ada2i"])
def test_encoder_scope_is_the_references(method, setup):
    """OGM-GE (GeWu-Lab/OGM-GE_CVPR2022, main.py) scales g <- k_m g only for the encoder's weight
    kernels (rank >= 2); Ada2I (leson502/ADA2I, model/ada2i.py) for every encoder parameter. Neither
    touches the head (the classifier of late fusion's summed logits) nor, for OGM-GE, biases and
    LayerNorm parameters."""
    model, batch = setup
    probs = {"t": 0.8, "a": 0.4, "v": 0.2}
    balancer = make_balancer(method, model=model, config=BalancingConfig(alpha=0.5, start_epoch=0, noise=False), seed=0, epochs=4)
    scores = torch.tensor([probs[m] * batch.n_utterances for m in "tav"])
    _, k = (ogm_ge_coefficients if method == "ogm-ge" else ada2i_coefficients)(scores, alpha=0.5)
    _set_unit_grads(model)
    balancer.after_clip(model, _output_with_scores(batch, probs), batch, epoch=0)
    t_branch = dict(model.branches["t"].named_parameters())
    for name, p in t_branch.items():
        scaled = name.startswith("encoder.") and (method == "ada2i" or p.dim() >= 2)
        torch.testing.assert_close(p.grad, torch.full_like(p, float(k[0]) if scaled else 1.0), msg=name)
    assert any(n.startswith("encoder.") and p.dim() == 1 for n, p in t_branch.items())  # a bias/LayerNorm exists
    assert float(k[0]) < 1


def test_ogm_ge_defaults_are_the_references(setup):
    """alpha = 0.1 (README) and modulation through epoch E/2 inclusive (main.py: 0 <= epoch <= 50 of 100)."""
    model, batch = setup
    balancer = make_balancer("ogm-ge", model=model, config=BalancingConfig(noise=False), seed=0, epochs=6)
    assert (balancer.alpha, balancer.start_epoch, balancer.end_epoch) == (0.1, 0, 4)
    output = _output_with_scores(batch, {"t": 0.9, "a": 0.3, "v": 0.3})
    for epoch, touched in ((3, True), (4, False)):
        _set_unit_grads(model)
        balancer.after_clip(model, output, batch, epoch=epoch)
        assert any((p.grad != 1).any() for p in model.parameters()) is touched


def test_modulation_window_end(setup):
    model, batch = setup
    balancer = make_balancer("ogm-ge", model=model, config=BalancingConfig(start_epoch=0, end_epoch=2, noise=False), seed=0, epochs=4)
    output = _output_with_scores(batch, {"t": 0.9, "a": 0.3, "v": 0.3})
    _set_unit_grads(model)
    balancer.after_clip(model, output, batch, epoch=2)
    assert all((p.grad == 1).all() for p in model.parameters())


def test_noise_is_seeded_and_leaves_the_global_rng_alone(setup):
    model, batch = setup
    output = _output_with_scores(batch, {"t": 0.9, "a": 0.3, "v": 0.3})
    grads = []
    for _ in range(2):
        balancer = make_balancer("ada2i", model=model, config=BalancingConfig(start_epoch=0), seed=7, epochs=4)
        for p in model.parameters():
            p.grad = torch.linspace(0, 1, p.numel()).view_as(p).clone()
        state = torch.get_rng_state()
        balancer.after_clip(model, output, batch, epoch=0)
        assert torch.equal(torch.get_rng_state(), state)
        grads.append([p.grad.clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*grads))
    shared = {id(p) for p in model.parameter_groups()["shared"]}
    assert any(not torch.equal(g, torch.linspace(0, 1, g.numel()).view_as(g))
               for g, p in zip(grads[0], model.parameters()) if id(p) not in shared)


def test_make_balancer_errors(setup):
    model, _ = setup
    assert type(make_balancer("none", model=model, config=BalancingConfig(), seed=0, epochs=4)) is Balancer
    with pytest.raises(ValueError, match="unknown balancing method 'ogm'"):
        make_balancer("ogm", model=model, config=BalancingConfig(), seed=0, epochs=4)


# --------------------------------------------------------------------------------- runs
@pytest.mark.parametrize(("backbone", "method"), [("late_fusion", "ogm-ge"), ("ada2i", "ada2i")])
def test_runs_log_modulation_and_are_deterministic(backbone, method, tmp_path):
    overrides = {**TINY, "balancing_config.start_epoch": 1}
    if backbone == "ada2i":
        overrides["model.tensor_rank"] = 3
    config = RunConfig(backbone=backbone, balancing=method, seed=3).with_overrides(overrides)
    first = run(config, tmp_path / "a", device="cpu")
    second = run(config, tmp_path / "b", device="cpu")
    assert first.status == "ok", (first.path / "error.txt").read_text()
    epochs = pd.read_csv(first.path / "epochs.csv")
    pd.testing.assert_frame_equal(
        epochs.drop(columns="value")[epochs.metric != "wall_seconds"],
        pd.read_csv(second.path / "epochs.csv").drop(columns="value")[epochs.metric != "wall_seconds"],
    )
    values = lambda e: e[e.metric != "wall_seconds"].value.to_numpy()
    np.testing.assert_array_equal(values(epochs), values(pd.read_csv(second.path / "epochs.csv")))
    modulation = epochs[epochs.metric == "modulation"].pivot(index="epoch", columns="scope", values="value")
    assert sorted(modulation.columns) == ["a", "t", "v"]
    assert (modulation.loc[1] == 1).all() and (modulation.loc[2:] <= 1).all().all()
    ratio = "discrepancy_ratio_batch" if method == "ogm-ge" else "disparity_ratio_batch"
    assert (epochs.metric == ratio).sum() == 3 * 3


@pytest.mark.parametrize("method", ["ogm-ge", "ada2i"])
def test_modulation_refuses_a_single_modality(method):
    with pytest.raises(Exception, match=f"balancing '{method}' cannot train on the single modality 't'"):
        RunConfig(modalities="t", balancing=method)


def test_balancing_config_is_validated():
    with pytest.raises(Exception, match="balancing_config.alpha"):
        RunConfig(balancing="ogm-ge").with_overrides({"balancing_config.alpha": -1})
