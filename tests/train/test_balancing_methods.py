"""uni-aux, G-Blending, PMR, AGM, MMPareto: core formulas on hand-made numbers, and known answers.

The known-answer runs train late fusion on the synthetic benchmark with text strong and audio
weak (informativeness t 1, a 0.3) and check that each method's logged coefficients act on the
side its paper says.
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from spcl_diag import RunConfig, run
from spcl_diag.config.schema import BalancingConfig
from spcl_diag.data.batching import DeviceSplit
from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
from spcl_diag.errors import ConfigError
from spcl_diag.models import build_backbone
from spcl_diag.models.base import ModelOutput
from spcl_diag.train.balancing import (
    agm_coefficients,
    blending_weights,
    make_balancer,
    pareto_gradient,
    pareto_weights,
    pmr_coefficients,
    prototype_log_probs,
    shapley_responses,
)

from ..conftest import TINY

WEAK_AUDIO = {
    **TINY, "train.epochs": 5, "train.lr": 3e-3, "data.synthetic.n_dialogues": 20,
    "data.synthetic.informativeness": {"t": 1.0, "a": 0.3, "v": 0.1},
}
NEW_METHODS = ("uni-aux", "g-blending", "pmr", "agm", "mmpareto")


# ----------------------------------------------------------------------------- formulas
def test_blending_weights_by_hand():
    # joint: gain 0.2, overfitting change (1.2-0.6)-(1.4-1.0) = 0.2 -> 0.2/0.04 = 5
    # t:     gain 0.1, overfitting change (1.4-1.0)-(1.5-1.2) = 0.1 -> 0.1/0.01 = 10
    # a:     dev loss rose -> 0
    w = blending_weights({"joint": 1.0, "t": 1.2, "a": 1.5}, {"joint": 1.4, "t": 1.5, "a": 1.6},
                         {"joint": 0.6, "t": 1.0, "a": 1.3}, {"joint": 1.2, "t": 1.4, "a": 1.7})
    assert w == pytest.approx({"joint": 5 / 15, "t": 10 / 15, "a": 0.0})
    assert blending_weights({"t": 1.0}, {"t": 1.0}, {"t": 0.5}, {"t": 1.2}) is None


def test_pmr_coefficients_by_hand():
    """Fan et al. 2023, Eq. 11 per modality: beta_m = clip(1/rho_m - 1, 0, 1), gamma_m = clip(rho_m - 1, 0, 1),
    rho_m = s_m / mean_{k != m} s_k."""
    rho, beta, gamma = pmr_coefficients(torch.tensor([3.0, 1.0, 2.0]))
    expected = [3 / 1.5, 1 / 2.5, 2 / 2.0]
    torch.testing.assert_close(rho, torch.tensor(expected))
    torch.testing.assert_close(beta, torch.tensor([0.0, 1.0, 0.0]))  # 1/0.4 - 1 = 1.5, clipped to 1
    torch.testing.assert_close(gamma, torch.tensor([1.0, 0.0, 0.0]))  # 2 - 1 = 1
    rho, beta, gamma = pmr_coefficients(torch.tensor([1.2, 1.0]))  # rho = 1.2: the paper's gamma = 0.2
    torch.testing.assert_close(beta, torch.tensor([0.0, 0.2]))
    torch.testing.assert_close(gamma, torch.tensor([0.2, 0.0]))
    _, beta, gamma = pmr_coefficients(torch.tensor([1.2, 1.0]), variant="code")  # flat alpha on the slow one
    assert beta.tolist() == [0.0, 1.0] and gamma.tolist() == [0.0, 0.0]


def test_prototype_probabilities_are_a_softmax_of_negative_distances():
    features = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    prototypes = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 3.0]])
    expected = np.empty((2, 3))
    for i, j in itertools.product(range(2), range(3)):
        expected[i, j] = -math.dist(features[i].tolist(), prototypes[j].tolist())
    expected = np.exp(expected) / np.exp(expected).sum(1, keepdims=True)
    np.testing.assert_allclose(prototype_log_probs(features, prototypes).exp().numpy(), expected, rtol=1e-5)


def test_agm_coefficients_by_hand():
    s, s_bar = torch.tensor([0.4, 1.0, 1.6]), torch.tensor([0.8, 1.0, 1.2])
    r, r_bar, k = agm_coefficients(s, s_bar, alpha=0.5)
    ratio = lambda v: [math.exp((sum(v) - x) / 2 - x) for x in v]
    torch.testing.assert_close(r, torch.tensor(ratio(s.tolist())))
    torch.testing.assert_close(r_bar, torch.tensor(ratio(s_bar.tolist())))
    torch.testing.assert_close(k, torch.exp(0.5 * (r_bar - r)))
    assert k[0] < 1 < k[2]  # the modality ahead of its running level is slowed, the lagging one sped up


def test_shapley_responses_of_an_additive_model_are_its_heads():
    data = make_synthetic(SyntheticConfig(n_dialogues=6, min_length=3, max_length=5, seed=1))
    batch = next(DeviceSplit(data, "train", "cpu").batches(np.arange(3), 3))
    torch.manual_seed(0)
    model = build_backbone("late_fusion", modalities="tav", dims=data.dims, n_classes=data.n_classes,
                           n_speakers=data.n_speakers, overrides={"hidden_dim": 8, "feedforward_dim": 16}).eval()
    responses = shapley_responses(model, batch)
    with torch.no_grad():
        full = model(batch)
        blank = model(batch.__class__(**{**batch.__dict__, "features": {m: torch.zeros_like(x) for m, x in batch.features.items()}}))
    for m in "tav":  # late fusion is additive: phi_m = z_m(x) - z_m(0)
        torch.testing.assert_close(responses[m], full.per_modality[m] - blank.per_modality[m], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(sum(responses.values()), full.joint - blank.joint, atol=1e-5, rtol=1e-5)  # efficiency


def test_pareto_weights_min_norm_against_a_grid():
    g_mm, g_u = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-1.5, 1.0, 0.5])
    weights, cosine = pareto_weights(g_mm, g_u)
    assert cosine < 0
    grid = np.linspace(0, 1, 100_001)[:, None]
    norms = np.linalg.norm(grid * g_mm.numpy() + (1 - grid) * g_u.numpy(), axis=1)
    assert float(weights[0]) == pytest.approx(grid[int(np.argmin(norms))], abs=1e-4)
    agree, cos = pareto_weights(torch.tensor([1.0, 0.0]), torch.tensor([2.0, 1.0]))
    assert agree.tolist() == [0.5, 0.5] and cos > 0


def test_pareto_gradient_rescales_to_at_least_the_sum():
    g_mm, g_u = torch.tensor([3.0, 0.0]), torch.tensor([-1.0, 1.0])
    weights = torch.tensor([0.2, 0.8])
    combined = 2 * (0.2 * g_mm + 0.8 * g_u)  # [-0.4, 1.6], shorter than the sum [2, 1]
    expected = 1.5 * torch.linalg.vector_norm(g_mm + g_u) / torch.linalg.vector_norm(combined) * combined
    torch.testing.assert_close(pareto_gradient(g_mm, g_u, weights, gamma=1.5), expected)
    long = pareto_gradient(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.5]), gamma=1.0)
    torch.testing.assert_close(long, torch.tensor([2.0, 0.0]))  # already as long as the sum: unchanged


def test_uni_aux_loss_uses_the_curriculum_reduction():
    logits = {"t": torch.tensor([[2.0, 0.0], [0.0, 1.0]]), "a": torch.tensor([[0.0, 0.5], [0.3, 0.0]])}
    output = ModelOutput(joint=logits["t"] + logits["a"], per_modality=logits)
    labels = torch.tensor([0, 1])
    keep = torch.tensor([True, False])
    reduce = lambda l: (l * keep).sum() / 2  # the "batch" normalisation of selection_loss
    model = build_backbone("late_fusion", modalities="ta", dims={"t": 3, "a": 3}, n_classes=2, n_speakers=1,
                           overrides={"hidden_dim": 4, "feedforward_dim": 8})
    config = BalancingConfig(weight=0.3, heads="shared")  # the model's own heads (the named option)
    balancer = make_balancer("uni-aux", model=model, config=config, seed=0, epochs=4)
    got = balancer.loss(torch.tensor(1.0), output, SimpleNamespace(labels=labels), reduce=reduce, epoch=0)
    expected = 1.0 + 0.3 * sum(F.cross_entropy(z[:1], labels[:1]) / 2 for z in logits.values())
    torch.testing.assert_close(got, expected)
    assert balancer.epoch_rows()[("aux_weight", "a")] == 0.3


# ------------------------------------------------------------------------- known answers
@pytest.fixture(scope="module")
def weak_audio_runs(tmp_path_factory):
    """One late-fusion 'ta' run per new method, text strong and audio weak (a few seconds each)."""
    out = tmp_path_factory.mktemp("balancing")
    epochs = {}
    for method in NEW_METHODS:
        config = RunConfig(modalities="ta", balancing=method, seed=1).with_overrides(WEAK_AUDIO)
        if method == "g-blending":  # the online estimator (a named option), re-estimated every 2 epochs
            config = config.with_overrides({"balancing_config.estimator": "online", "balancing_config.super_epoch": 2})
        result = run(config, out, device="cpu")
        assert result.status == "ok", (result.path / "error.txt").read_text()
        epochs[method] = pd.read_csv(result.path / "epochs.csv")
    return epochs


def _rows(epochs: pd.DataFrame, metric: str) -> pd.DataFrame:
    return epochs[epochs.metric == metric].pivot(index="epoch", columns="scope", values="value")


def test_uni_aux_weak_modality_has_the_larger_auxiliary_loss(weak_audio_runs):
    epochs = weak_audio_runs["uni-aux"]
    assert (_rows(epochs, "aux_weight") == 1.0).all().all()
    loss = _rows(epochs, "aux_loss")
    assert (loss["a"].iloc[1:] > loss["t"].iloc[1:]).all()


def test_g_blending_weights_follow_the_logged_losses(weak_audio_runs):
    epochs = weak_audio_runs["g-blending"]
    weights = _rows(epochs, "blend_weight")
    assert np.allclose(weights.sum(axis=1), 1)
    assert np.allclose(weights.loc[1:3], 1 / 3)  # uniform until the first re-estimate (end of epoch 3)
    losses = {split: epochs[(epochs.metric == "loss") & (epochs.split == split)].pivot(index="epoch", columns="scope", values="value")
              for split in ("train", "dev")}
    expected = blending_weights(*(losses[s].loc[1].to_dict() for s in ("train", "dev")),
                                *(losses[s].loc[3].to_dict() for s in ("train", "dev")))
    assert weights.loc[4].to_dict() == pytest.approx(expected, rel=1e-4)
    assert weights.loc[4, "a"] < weights.loc[4, "t"]  # the weak head generalises least per unit of overfitting


def test_pmr_accelerates_the_weak_and_restrains_the_strong(weak_audio_runs):
    epochs = weak_audio_runs["pmr"]
    beta, gamma = _rows(epochs, "pmr_beta"), _rows(epochs, "pmr_gamma")
    assert ((beta >= 0) & (beta <= 1)).all().all() and ((gamma >= 0) & (gamma <= 1)).all().all()  # Eq. 11's clip
    # per batch the side can flip; per epoch the weak modality gets the PCE, the strong one the entropy
    assert (beta.loc[2:, "a"] > 10 * beta.loc[2:, "t"]).all() and (beta.loc[2:, "a"] > 0).all()
    assert (gamma.loc[2, "t"] > 10 * gamma.loc[2, "a"]) and (gamma.loc[1:2, "t"] > 0).all()
    assert (gamma.loc[3:] == 0).all().all()  # the entropy term stops after E_r = 5 // 2 epochs
    assert (_rows(epochs, "prototype_ratio_batch").loc[2:, "t"] > 1).all()


def test_agm_slows_the_dominant_modality(weak_audio_runs):
    k = _rows(weak_audio_runs["agm"], "modulation").loc[2:]
    assert (k["t"] < 1).mean() >= 0.75 and (k["a"] > 1).mean() >= 0.75
    assert k["t"].mean() < 1 < k["a"].mean()


def test_mmpareto_assists_the_weak_modality_most(weak_audio_runs):
    epochs = weak_audio_runs["mmpareto"]
    ratio, conflict = _rows(epochs, "pareto_grad_ratio"), _rows(epochs, "pareto_conflict")
    weight = _rows(epochs, "pareto_weight_unimodal")
    assert ratio.loc[3:, "a"].mean() > ratio.loc[3:, "t"].mean()
    assert ((conflict == 0) <= (weight == 0.5)).all().all()  # agreeing steps sum the gradients
    assert ((weight >= 0) & (weight <= 1)).all().all()


def test_new_methods_are_deterministic(weak_audio_runs, tmp_path):
    config = RunConfig(modalities="ta", balancing="agm", seed=1).with_overrides(WEAK_AUDIO)
    again = pd.read_csv(run(config, tmp_path, device="cpu").path / "epochs.csv")
    first = weak_audio_runs["agm"]
    keep = first.metric != "wall_seconds"
    np.testing.assert_array_equal(first[keep].value.to_numpy(), again[again.metric != "wall_seconds"].value.to_numpy())


# ------------------------------------------------------------------------------- config
@pytest.mark.parametrize(("overrides", "match"), [
    ({"balancing": "pmr", "backbone": "mmgcn"}, "needs pure per-modality heads"),
    ({"balancing": "agm", "modalities": "t"}, "needs at least 2 modalities"),
    ({"balancing": "agm", "balancing_config.weight": 0.5}, "read by balancing uni-aux only"),
    ({"balancing": "g-blending", "balancing_config.super_epoch": 0}, "super_epoch must be an integer >= 1"),
    ({"balancing": "mmpareto", "balancing_config.gamma": 0}, "gamma must be a finite number > 0"),
])
def test_config_refuses_unsupported_settings(overrides, match):
    with pytest.raises(ConfigError, match=match):
        RunConfig().with_overrides(overrides)


def test_make_balancer_refuses_mixed_heads():
    data = make_synthetic(SyntheticConfig(n_dialogues=4, min_length=2, max_length=3, seed=0))
    model = build_backbone("mm_dfn", modalities="ta", dims=data.dims, n_classes=data.n_classes,
                           n_speakers=data.n_speakers, overrides={"hidden_dim": 8, "feedforward_dim": 16})
    with pytest.raises(ValueError, match="'mm_dfn'.*mixed"):
        make_balancer("mmpareto", model=model, config=BalancingConfig(), seed=0, epochs=4)
