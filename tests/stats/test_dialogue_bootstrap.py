"""Dialogue-level paired bootstrap against a loop-based reference using sklearn's f1_score."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from spcl_diag.stats import paired_dialogue_bootstrap


def _test_set(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dialogues = np.repeat([f"dlg{k:02d}" for k in rng.permutation(12)], rng.integers(2, 7, 12))
    labels = rng.integers(0, 4, dialogues.size)
    better = np.where(rng.random(dialogues.size) < 0.7, labels, rng.integers(0, 4, dialogues.size))
    worse = np.where(rng.random(dialogues.size) < 0.5, labels, rng.integers(0, 4, dialogues.size))
    return labels, better, worse, dialogues


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_matches_loop_reference(method: str) -> None:
    labels, a, b, dialogues = _test_set()
    ours = paired_dialogue_bootstrap(labels, a, b, groups=dialogues, rng=np.random.default_rng(3),
                                     n_resamples=120, method=method)
    names = sorted(set(dialogues))

    def diff(members: list[int]) -> float:
        return (f1_score(labels[members], a[members], average="weighted", zero_division=0)
                - f1_score(labels[members], b[members], average="weighted", zero_division=0))

    draws = np.random.default_rng(3).integers(0, len(names), (120, len(names)))
    reps = []
    for row in draws:  # pool the utterances of the drawn dialogues, in draw order
        members = [i for g in row for i in range(len(labels)) if dialogues[i] == names[g]]
        reps.append(diff(members))
    estimate = diff(list(range(len(labels))))
    assert ours.estimate == pytest.approx(estimate, abs=1e-12)
    if method == "percentile":
        np.testing.assert_allclose([ours.low, ours.high], np.quantile(reps, [0.025, 0.975]), atol=1e-12)
    else:  # BCa: jackknife over dialogues, formula of Efron & Tibshirani (1993) eq. 14.15
        from scipy.stats import norm

        jack = np.array([diff([i for i in range(len(labels)) if dialogues[i] != name]) for name in names])
        z0 = norm.ppf((np.sum(np.array(reps) < estimate) + np.sum(np.array(reps) <= estimate)) / 240)
        dev = jack.mean() - jack
        acc = np.sum(dev**3) / (6 * np.sum(dev**2) ** 1.5)
        z = norm.ppf([0.025, 0.975])
        levels = norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z)))
        np.testing.assert_allclose([ours.low, ours.high], np.quantile(reps, levels), atol=1e-12)
    assert ours.n == 12 and ours.low <= ours.estimate <= ours.high


def test_probabilities_are_argmaxed_and_identical_runs_give_zero() -> None:
    labels, a, _, dialogues = _test_set(1)
    probs = np.eye(4)[a] * 0.7 + 0.075
    res = paired_dialogue_bootstrap(labels, probs, a, groups=dialogues, rng=np.random.default_rng(0), n_resamples=100)
    assert res.estimate == 0 and res.low == 0 and res.high == 0


def test_shape_errors_name_the_argument() -> None:
    labels, a, b, dialogues = _test_set()
    with pytest.raises(ValueError, match="predictions_b must hold one class"):
        paired_dialogue_bootstrap(labels, a, b[:-1], groups=dialogues, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="groups must name the dialogue"):
        paired_dialogue_bootstrap(labels, a, b, groups=dialogues[:-1], rng=np.random.default_rng(0))
