"""Per-modality scores, spreads, loss disparity and confidence ratios against sklearn and loop references."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from spcl_diag.metrics import (
    discrepancy_ratio,
    disparity_ratio,
    spread,
    unimodal_accuracy,
    unimodal_loss_disparity,
    unimodal_spread,
    unimodal_wf1,
)


def _probs(rng: np.random.Generator, modalities: str = "tav", n: int = 60, c: int = 5) -> tuple[dict, np.ndarray]:
    probs = {m: rng.dirichlet(np.full(c, 0.7), size=n) for m in modalities}
    return probs, rng.integers(0, c, size=n)


@pytest.mark.parametrize("seed", range(5))
def test_unimodal_scores_match_sklearn(seed):
    probs, labels = _probs(np.random.default_rng(seed))
    acc, wf1 = unimodal_accuracy(probs, labels), unimodal_wf1(probs, labels)
    for m, p in probs.items():
        assert acc[m] == pytest.approx(accuracy_score(labels, p.argmax(1)), abs=1e-12)
        assert wf1[m] == pytest.approx(f1_score(labels, p.argmax(1), average="weighted", zero_division=0), abs=1e-12)


def test_spread_range_and_std():
    values = {"t": 0.7, "a": 0.4, "v": 0.1}
    assert spread(values) == pytest.approx(0.6)
    assert spread(values, kind="std") == pytest.approx(np.std([0.7, 0.4, 0.1]))
    probs, labels = _probs(np.random.default_rng(0))
    scores = unimodal_wf1(probs, labels)
    assert unimodal_spread(probs, labels) == pytest.approx(max(scores.values()) - min(scores.values()))


def test_loss_disparity_matches_loop_reference():
    probs, labels = _probs(np.random.default_rng(1))
    losses = {}
    for m, p in probs.items():
        total = 0.0
        for i, y in enumerate(labels):
            total -= np.log(max(p[i, y], 1e-12))
        losses[m] = total / len(labels)
    expected = {m: loss - min(losses.values()) for m, loss in losses.items()}
    got = unimodal_loss_disparity(probs, labels)
    assert got == pytest.approx(expected, abs=1e-10)
    assert min(got.values()) == 0.0


def test_discrepancy_ratio_matches_loop_reference_and_is_reciprocal():
    probs, labels = _probs(np.random.default_rng(2), modalities="ta")
    s = {m: sum(p[i, y] for i, y in enumerate(labels)) for m, p in probs.items()}
    got = discrepancy_ratio(probs, labels)
    assert got == pytest.approx({"t": s["t"] / s["a"], "a": s["a"] / s["t"]}, rel=1e-10)
    assert got["t"] * got["a"] == pytest.approx(1.0)


def test_disparity_ratio_matches_loop_reference():
    probs, labels = _probs(np.random.default_rng(3))
    s = {m: sum(p[i, y] for i, y in enumerate(labels)) for m, p in probs.items()}
    assert disparity_ratio(probs, labels) == pytest.approx({m: v / min(s.values()) for m, v in s.items()}, rel=1e-10)


@pytest.mark.parametrize(
    "call",
    [
        lambda p, y: spread(unimodal_wf1(p, y)),
        lambda p, y: unimodal_loss_disparity(p, y)["t"],
        lambda p, y: discrepancy_ratio(p, y)["t"],
        lambda p, y: disparity_ratio(p, y)["t"],
    ],
)
def test_one_modality_is_nan_with_warning(call):
    probs, labels = _probs(np.random.default_rng(4), modalities="t")
    with pytest.warns(RuntimeWarning, match="modalit"):
        assert np.isnan(call(probs, labels))


def test_discrepancy_ratio_needs_two_modalities():
    probs, labels = _probs(np.random.default_rng(5), modalities="tav")
    with pytest.warns(RuntimeWarning, match="two modalities; got 3"):
        assert all(np.isnan(v) for v in discrepancy_ratio(probs, labels).values())


def test_shape_mismatch_is_reported():
    probs, labels = _probs(np.random.default_rng(6), modalities="ta", n=10)
    probs["a"] = probs["a"][:7]
    with pytest.raises(ValueError, match=r"probs\['a'\] has shape \(7, 5\), expected \(10, C\)"):
        unimodal_accuracy(probs, labels)
