"""The balancing baselines against their papers' equations and reference code, on hand-made numbers.

PMR (Fan et al. 2023, Eq. 10-13), AGM's cap and coalition scoring (lihong2303/AGM_ICCV2023),
uni-aux's separate heads (GeWu-Lab/MMPareto_ICML2024) and the class weights of every term a
method adds. OGM-GE's and Ada2I's scopes are in ``test_balancing.py``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spcl_diag.config.schema import BalancingConfig
from spcl_diag.data.batching import DeviceSplit
from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
from spcl_diag.models import build_backbone
from spcl_diag.models.base import ModelOutput
from spcl_diag.train.balancing import agm_coefficients, make_balancer, shapley_responses
from spcl_diag.train.balancing.base import unimodal_losses
from spcl_diag.train.balancing.prototypes import PrototypicalRebalance

TINY_MODEL = {"hidden_dim": 8, "feedforward_dim": 16}


@pytest.fixture
def tiny():
    data = make_synthetic(SyntheticConfig(n_dialogues=20, min_length=3, max_length=5, seed=3))
    split = DeviceSplit(data, "train", "cpu")
    torch.manual_seed(0)
    model = build_backbone("late_fusion", modalities="ta", dims={m: data.dims[m] for m in "ta"},
                           n_classes=data.n_classes, n_speakers=data.n_speakers, overrides=TINY_MODEL)
    return model, split, data.n_classes


def _mean(values):
    return values.mean()


# ---------------------------------------------------------------------------------------- PMR
def _pmr(**overrides):
    settings = {"alpha": 2.0, "mu": 0.1, "variant": "paper", "start_epoch": 0, "end_epoch": None,
                "entropy_epochs": 2, "momentum": 0.2, "seed": 0}
    settings.update(overrides)
    return PrototypicalRebalance("ta", 2, **settings)


def _hand_made():
    """Two utterances of classes 0 and 1; prototypes at (0, 0) and (1, 0) for both modalities."""
    features = {"t": torch.tensor([[0.0, 0.0], [1.0, 0.0]]), "a": torch.tensor([[0.6, 0.0], [0.5, 0.0]])}
    output = ModelOutput(joint=torch.zeros(2, 2), per_modality={}, features=features)
    prototypes = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    return output, SimpleNamespace(labels=torch.tensor([0, 1])), prototypes


def _expected_pmr_loss(features, prototypes, labels, *, alpha, mu, entropy_on, variant="paper", weights=None):
    """L = 1 + alpha sum_m beta_m PCE^m - mu sum_m gamma_m H^m (Eq. 10 and 13), by loops."""
    p = {}
    for m, f in features.items():
        d = np.array([[-math.dist(x, c) for c in prototypes.tolist()] for x in f.tolist()])
        p[m] = np.exp(d) / np.exp(d).sum(1, keepdims=True)
    y = labels.numpy()
    s = {m: sum(p[m][i, y[i]] for i in range(len(y))) for m in p}
    rho = {"t": s["t"] / s["a"], "a": s["a"] / s["t"]}
    loss = 1.0
    for m in p:
        if variant == "paper":
            beta, gamma = min(max(1 / rho[m] - 1, 0), 1), min(max(rho[m] - 1, 0), 1)
        else:
            beta, gamma = float(rho[m] < 1), 0.0
        w = np.ones(2) if weights is None else weights
        pce = np.mean([-w[y[i]] * math.log(p[m][i, y[i]]) for i in range(len(y))])
        entropy = np.mean([-(p[m][i] * np.log(p[m][i])).sum() for i in range(len(y))])
        loss += alpha * beta * pce - (mu * gamma * entropy if entropy_on else 0.0)
    return loss, rho


def test_pmr_loss_is_eq_10_and_13():
    """L = L_CE + alpha (beta PCE^t + gamma PCE^a) - mu (gamma H^t + beta H^a), for the first E_r epochs;
    after E_r the entropy term is gone (Algorithm 1). Text is dominant here (rho_t > 1)."""
    output, batch, prototypes = _hand_made()
    pmr = _pmr()
    pmr.prototypes = {m: prototypes for m in "ta"}
    for epoch, entropy_on in ((1, True), (2, False)):
        got = pmr.loss(torch.tensor(1.0), output, batch, reduce=_mean, epoch=epoch)
        expected, rho = _expected_pmr_loss(output.features, prototypes, batch.labels, alpha=2.0, mu=0.1,
                                           entropy_on=entropy_on)
        assert rho["t"] > 1
        assert float(got) == pytest.approx(expected, rel=1e-5)


def test_pmr_code_variant_is_a_flat_alpha_without_entropy():
    """The authors' code: L = L_CE + alpha PCE^slow, no entropy term (main_Prototype_grad.py)."""
    output, batch, prototypes = _hand_made()
    pmr = _pmr(variant="code")
    pmr.prototypes = {m: prototypes for m in "ta"}
    got = pmr.loss(torch.tensor(1.0), output, batch, reduce=_mean, epoch=0)
    expected, _ = _expected_pmr_loss(output.features, prototypes, batch.labels, alpha=2.0, mu=0.1,
                                     entropy_on=False, variant="code")
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_pmr_pce_carries_the_class_weights():
    """With class weights w, PCE^m = mean_j w_{y_j} (-log p^m_{y_j}), as the joint loss weighs its terms."""
    output, batch, prototypes = _hand_made()
    weights = np.array([0.5, 3.0])
    pmr = _pmr(class_weights=torch.tensor(weights, dtype=torch.float32), mu=0.0)
    pmr.prototypes = {m: prototypes for m in "ta"}
    got = pmr.loss(torch.tensor(1.0), output, batch, reduce=_mean, epoch=0)
    expected, _ = _expected_pmr_loss(output.features, prototypes, batch.labels, alpha=2.0, mu=0.0,
                                     entropy_on=False, weights=weights)
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_pmr_prototypes_are_a_moving_average_over_a_tenth_of_train(tiny):
    """Eq. 12: c_k <- (1 - eta) mean_{x in subset, y = k} phi(x) + eta c_k, the subset a random tenth of the
    training dialogues (eval mode, no gradient); the first epoch takes the fresh means."""
    model, split, n_classes = tiny
    pmr = PrototypicalRebalance("ta", n_classes, alpha=1.0, mu=0.01, variant="paper", start_epoch=0, end_epoch=None,
                                entropy_epochs=2, momentum=0.2, seed=5)
    rng = np.random.default_rng(5)

    def class_means():
        subset = np.sort(rng.choice(split.n_dialogues, size=max(1, round(0.1 * split.n_dialogues)), replace=False))
        model.eval()
        with torch.no_grad():
            batches = list(split.batches(subset, 100))
            out = [model(b) for b in batches]
        model.train()
        labels = torch.cat([b.labels for b in batches])
        means = {}
        for m in "ta":
            feats = torch.cat([o.features[m] for o in out])
            means[m] = torch.stack([feats[labels == k].mean(0) if (labels == k).any() else torch.zeros(feats.shape[1])
                                    for k in range(n_classes)])
        return means, torch.bincount(labels, minlength=n_classes) > 0

    model.train()
    pmr.epoch_start(model, split, epoch=0)
    first, _ = class_means()
    for m in "ta":
        torch.testing.assert_close(pmr.prototypes[m], first[m])
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05)
    old = {m: pmr.prototypes[m].clone() for m in "ta"}
    pmr.epoch_start(model, split, epoch=1)
    fresh, seen = class_means()
    for m in "ta":
        expected = torch.where(seen.unsqueeze(1), 0.8 * fresh[m] + 0.2 * old[m], old[m])
        torch.testing.assert_close(pmr.prototypes[m], expected)
    assert model.training  # the eval pass restores the mode


# ---------------------------------------------------------------------------------------- AGM
def test_agm_exponent_is_capped_at_10():
    """k_m = exp(alpha min(r_bar_m - r_m, 10)) (run/CREMAD_main.py), r_m = exp(mean_{k != m} s_k - s_m).

    Running scores (0, 12) and batch scores (0, 0): r_bar = (e^12, e^-12), r = (1, 1), so the gap of the
    first modality is e^12 - 1, about 1.6e5: capped, k_0 = e^(0.5 * 10); uncapped it overflows to inf."""
    s, s_bar = torch.tensor([0.0, 0.0]), torch.tensor([0.0, 12.0])
    _, r_bar, k = agm_coefficients(s, s_bar, alpha=0.5)
    torch.testing.assert_close(r_bar, torch.tensor([math.exp(12), math.exp(-12)]))
    torch.testing.assert_close(k, torch.tensor([math.exp(0.5 * 10), math.exp(0.5 * (math.exp(-12) - 1))]))
    assert torch.isinf(agm_coefficients(s, s_bar, alpha=0.5, cap=None)[2][0])


def test_agm_zero_coalition_is_shapley_plus_the_empty_output_over_m(tiny):
    """Authors' scoring (model/CREMAD_net.py): phi_t = 1/2 (f(ta) - f(a) + f(t)), i.e. f(empty) := 0, which is the
    exact Shapley value phi_t = 1/2 (f(ta) - f(a)) + 1/2 (f(t) - f(empty)) plus f(empty) / M."""
    model, split, _ = tiny
    batch = next(split.batches(np.arange(3), 3))
    exact = shapley_responses(model, batch, coalition="shapley")
    zero = shapley_responses(model, batch, coalition="zero")
    model.eval()
    with torch.no_grad():
        f = {}
        for subset in ("", "t", "a", "ta"):
            features = {m: x if m in subset else torch.zeros_like(x) for m, x in batch.features.items()}
            f[subset] = model(dataclasses.replace(batch, features=features)).joint
    model.train()
    torch.testing.assert_close(zero["t"], 0.5 * (f["ta"] - f["a"] + f["t"]), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(exact["t"], 0.5 * (f["ta"] - f["a"]) + 0.5 * (f["t"] - f[""]), atol=1e-5, rtol=1e-5)
    for m in "ta":
        torch.testing.assert_close(zero[m], exact[m] + f[""] / 2, atol=1e-5, rtol=1e-5)


def test_agm_default_is_the_authors_coalition(tiny):
    model, _, _ = tiny
    assert make_balancer("agm", model=model, config=BalancingConfig(), seed=0, epochs=3).coalition == "zero"


# ----------------------------------------------------------------------------------- uni-aux
def test_uni_aux_separate_heads_leave_the_joint_heads_alone(tiny):
    """L = L_joint + w sum_m CE(h^aux_m(phi_m), y): the auxiliary term's gradient reaches the encoders and the
    auxiliary heads, never the heads summed into the joint logits. Building the heads leaves the global RNG."""
    model, split, _ = tiny
    state = torch.get_rng_state()
    balancer = make_balancer("uni-aux", model=model, config=BalancingConfig(weight=0.5), seed=0, epochs=3)
    assert torch.equal(torch.get_rng_state(), state)
    batch = next(split.batches(np.arange(4), 4))
    output = model(batch)
    got = balancer.loss(torch.tensor(0.0), output, batch, reduce=_mean, epoch=0)
    heads = balancer.heads
    expected = 0.5 * sum(F.cross_entropy(heads[m](output.features[m]), batch.labels) for m in "ta")
    torch.testing.assert_close(got, expected)
    got.backward()
    for m in "ta":
        assert all(p.grad is None for p in model.branches[m]["head"].parameters())
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.branches[m]["encoder"].parameters())
    assert {id(p) for p in balancer.parameters()} == {id(p) for p in heads.parameters()}
    assert all(p.grad is not None for p in balancer.parameters())


def test_unimodal_losses_weigh_classes_as_the_joint_loss():
    """With class weights w: l_j = w_{y_j} CE_j, reduced by the curriculum as the joint loss is."""
    logits = {"t": torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])}
    labels, w = torch.tensor([0, 1, 1]), torch.tensor([0.25, 2.0])
    got = unimodal_losses(logits, labels, "t", lambda l: l.sum() / 3, class_weights=w)["t"]
    ce = [-math.log(math.exp(z[y]) / sum(math.exp(v) for v in z)) for z, y in zip(logits["t"].tolist(), labels.tolist())]
    assert float(got) == pytest.approx(sum(w[y].item() * c for c, y in zip(ce, labels.tolist())) / 3, rel=1e-6)


# -------------------------------------------------------------------------------- G-Blending
def _head_loss(model, split, head):
    model.eval()
    with torch.no_grad():
        losses = [F.cross_entropy((o.joint if head == "joint" else o.per_modality[head]), b.labels, reduction="sum")
                  for b in split.eval_batches(7) for o in [model(b)]]
    model.train()
    return float(sum(losses)) / split.n_utterances


def test_g_blend_estimator_is_eq_6_7_on_copies_trained_per_head(tiny, monkeypatch):
    """w_k = (dG_k / dO_k^2) / Z with dG_k = L^V_k(n) - L^V_k(n + D) and dO_k = O_k(n + D) - O_k(n),
    O = L^V - L^T, each head k measured on a copy of the model trained on L_k alone from the current state
    (G-Blend, Algorithm 1). The copies' training is replaced by a hand-made update (halving the head's
    weights, and for the joint model every head's) so the expected losses can be computed here."""
    from spcl_diag.train.balancing import blending_weights, carve_holdout
    from spcl_diag.train.balancing.blending import GradientBlending

    model, split, _ = tiny

    def halve_heads(self, copied, train, head, *, rng):
        with torch.no_grad():
            for m in ("ta" if head == "joint" else head):
                copied.branches[m]["head"].weight.mul_(0.5)

    monkeypatch.setattr(GradientBlending, "_train_copy", halve_heads)
    data = make_synthetic(SyntheticConfig(n_dialogues=20, min_length=3, max_length=5, seed=3)).select_modalities("ta")
    _, held = carve_holdout(data, 0.2, rng=np.random.default_rng(0))
    holdout = DeviceSplit(held, "train", "cpu")
    blend = GradientBlending("ta", super_epoch=3, estimator="held-out", holdout=holdout, trainer=(1e-3, 0.0, 4, 2.0))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    rng_state = torch.get_rng_state()
    blend.epoch_start(model, split, epoch=0)
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())  # copies, not the model
    before = [{k: _head_loss(model, s, k) for k in ("joint", "t", "a")} for s in (split, holdout)]
    after = []
    for s in (split, holdout):
        row = {}
        for k in ("joint", "t", "a"):
            copied = copy.deepcopy(model)
            halve_heads(None, copied, split, k, rng=None)
            row[k] = _head_loss(copied, s, k)
        after.append(row)
    expected = blending_weights(before[0], before[1], after[0], after[1])
    assert expected is not None and blend.weights == pytest.approx(expected, rel=1e-6)
    weights_then = dict(blend.weights)
    blend.epoch_start(model, split, epoch=1)  # not a super-epoch boundary: unchanged
    assert blend.weights == weights_then


def test_g_blend_holds_out_a_seeded_tenth_of_train_never_dev(tmp_path):
    from spcl_diag import RunConfig
    from spcl_diag.data.registry import resolve_dataset
    from spcl_diag.train.loop import prepare_run

    config = RunConfig(modalities="ta", balancing="g-blending", seed=2).with_overrides(
        {"data.synthetic.n_dialogues": 40, "model.hidden_dim": 8, "model.feedforward_dim": 16}).resolved()
    dataset = resolve_dataset(config.dataset, config.data, modalities=config.modalities)
    setups = [prepare_run(config, dataset, torch.device("cpu")) for _ in range(2)]
    held = set(setups[0].holdout.dialogue_ids)
    train_all = set(dataset.dialogue_ids[dataset.splits == "train"])
    assert held == set(setups[1].holdout.dialogue_ids)  # fixed by the seed
    assert len(held) == round(0.1 * len(train_all)) and held <= train_all
    assert held.isdisjoint(setups[0].splits["train"].dialogue_ids) and held.isdisjoint(setups[0].splits["dev"].dialogue_ids)
    assert set(setups[0].splits["train"].dialogue_ids) | held == train_all
    online = config.with_overrides({"balancing_config.estimator": "online"})
    assert prepare_run(online, dataset, torch.device("cpu")).holdout is None
