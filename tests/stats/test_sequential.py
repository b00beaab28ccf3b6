"""Betting confidence sequences against a loop-based reference of Waudby-Smith & Ramdas (2024).

The reference implementation (confseq) needs Boost and CMake to build and does not install
here (``pip install confseq``: "CMake Error ... NOTFOUND"), so the tests compare the vectorised
code with a loop over the paper's formulas, written independently below, and check the
coverage by simulation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spcl_diag.stats.sequential import confidence_sequence, decision_codes, decision_word


def _reference_bets(y, alpha):
    mu_sum, var_sum, out = 0.0, 0.0, []
    sigma2_prev = 0.25
    for t, value in enumerate(y, start=1):
        out.append(math.sqrt(2 * math.log(2 / alpha) / (sigma2_prev * t * math.log(1 + t))))
        mu_sum += value
        mu_t = (0.5 + mu_sum) / (t + 1)
        var_sum += (value - mu_t) ** 2
        sigma2_prev = (0.25 + var_sum) / (t + 1)
    return out


def _reference_hedged(y, alpha, c=0.5, grid=4001):
    """The set {m on a grid : max(K+/2, K-/2) < 1/alpha} after each look, by loops."""
    bets = _reference_bets(y, alpha)
    ms = np.linspace(0, 1, grid)
    lows, highs = [], []
    for t in range(1, len(y) + 1):
        kept = []
        for m in ms:
            k_plus = k_minus = 1.0
            for i in range(t):
                lp = min(bets[i], c / m) if m > 0 else bets[i]
                lm = min(bets[i], c / (1 - m)) if m < 1 else bets[i]
                k_plus *= 1 + lp * (y[i] - m)
                k_minus *= 1 - lm * (y[i] - m)
            if max(0.5 * k_plus, 0.5 * k_minus) < 1 / alpha:
                kept.append(m)
        lows.append(min(kept))
        highs.append(max(kept))
    return np.maximum.accumulate(lows), np.minimum.accumulate(highs), ms[1] - ms[0]


def _reference_plugin(y, alpha, c=0.5):
    bets = [min(b, c) for b in _reference_bets(y, alpha)]
    lows, highs, mu_prev, s = [], [], 0.5, 0.0
    num = den = pen = 0.0
    for t, (value, lam) in enumerate(zip(y, bets), start=1):
        num += lam * value
        den += lam
        pen += (value - mu_prev) ** 2 * (-math.log(1 - lam) - lam)  # v psi_E = 4 (.)^2 * (.)/4
        s += value
        mu_prev = (0.5 + s) / (t + 1)
        lows.append(num / den - (math.log(2 / alpha) + pen) / den)
        highs.append(num / den + (math.log(2 / alpha) + pen) / den)
    return np.maximum.accumulate(np.clip(lows, 0, 1)), np.minimum.accumulate(np.clip(highs, 0, 1))


@pytest.mark.parametrize("seed", [0, 1])
def test_hedged_matches_the_loop_reference(seed):
    y = np.random.default_rng(seed).beta(4, 6, size=12)
    cs = confidence_sequence(y, bounds=(0, 1))
    low, high, step = _reference_hedged(y, 0.05)
    np.testing.assert_allclose(cs.low, low, atol=step)
    np.testing.assert_allclose(cs.high, high, atol=step)


def test_plugin_matches_the_loop_reference():
    y = np.random.default_rng(2).beta(2, 2, size=30)
    cs = confidence_sequence(y, bounds=(0, 1), method="plugin")
    low, high = _reference_plugin(y, 0.05)
    np.testing.assert_allclose(cs.low, low, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cs.high, high, rtol=1e-12, atol=1e-12)


def test_bounds_map_the_sequence_affinely():
    d = np.random.default_rng(3).uniform(-0.2, 0.3, size=15)
    on_unit = confidence_sequence((d + 1) / 2, bounds=(0, 1), null=0.5)
    on_diff = confidence_sequence(d)
    np.testing.assert_allclose(on_diff.low, 2 * on_unit.low - 1, atol=1e-12)
    np.testing.assert_allclose(on_diff.e_value, on_unit.e_value, rtol=1e-10)


def test_a_batch_of_sequences_equals_each_sequence_alone():
    d = np.random.default_rng(4).uniform(-0.5, 0.6, size=(3, 10))
    many = confidence_sequence(d, method="hedged")
    for row in range(3):
        one = confidence_sequence(d[row])
        np.testing.assert_allclose(many.low[row], one.low, atol=1e-14)
        np.testing.assert_allclose(many.e_value[row], one.e_value, rtol=1e-12)


@pytest.mark.parametrize("method", ["hedged", "plugin"])
def test_time_uniform_coverage_by_simulation(method):
    rng = np.random.default_rng(5)
    y = rng.beta(2, 5, size=(400, 40))  # mean 2/7
    cs = confidence_sequence(y, bounds=(0, 1), method=method, null=2 / 7)
    ever_missed = ((cs.low > 2 / 7) | (cs.high < 2 / 7)).any(axis=1).mean()
    assert ever_missed <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 400)
    # Ville: the e-process for the true mean crosses 1/alpha at most as often
    assert (cs.e_value.max(axis=1) >= 20).mean() <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 400)
    assert (cs.high - cs.low)[:, -1].mean() < (cs.high - cs.low)[:, 4].mean()  # it shrinks


def test_e_value_grows_against_a_false_null_and_decides():
    d = np.random.default_rng(6).normal(0.3, 0.1, size=40).clip(-1, 1)
    cs = confidence_sequence(d)
    assert cs.e_value[-1] > 20 and cs.p_anytime[-1] < 0.05
    assert cs.decision() == "better" and cs.decision(higher_is_better=False) == "worse"
    assert cs.decision(higher_is_better=None) == "higher"
    assert np.all(np.diff(cs.low) >= 0) and np.all(np.diff(cs.high) <= 0)  # running intersection


def test_decision_codes_and_words():
    codes = decision_codes([0.01, -0.3, -0.004, -0.02], [0.2, -0.1, 0.005, 0.03], rope=0.01)
    assert codes.tolist() == [1, -1, 2, 0]
    assert decision_codes([-0.004], [0.005]).tolist() == [0]  # no rope: never equivalent
    assert [decision_word(c) for c in codes] == ["better", "worse", "equivalent", "undecided"]


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="outside the declared bounds"):
        confidence_sequence([0.1, 0.5], bounds=(-0.2, 0.2))
    with pytest.raises(ValueError, match="method must be one of"):
        confidence_sequence([0.1], method="normal")
    with pytest.raises(ValueError, match="alpha must lie"):
        confidence_sequence([0.1], alpha=5)


def test_compare_adds_the_sequence_next_to_the_fixed_n_interval():
    import pandas as pd

    from spcl_diag.stats import compare

    rng = np.random.default_rng(7)
    base = 0.5 + rng.normal(0, 0.01, 12)
    frame = pd.DataFrame({"dataset": "s", "curriculum": ["none"] * 12 + ["spcl"] * 12 + ["random"] * 12,
                          "seed": list(range(12)) * 3,
                          "test_wf1": [*base, *(base + 0.02 + rng.normal(0, 0.005, 12)), *(base + rng.normal(0, 0.005, 12))]})
    table = compare(frame, "test_wf1", by=("dataset",), rng=np.random.default_rng(0), sequential=True)
    plain = compare(frame, "test_wf1", by=("dataset",), rng=np.random.default_rng(0))
    pd.testing.assert_frame_equal(table[plain.columns], plain)  # nothing else changes
    for _, row in table.iterrows():
        d = frame[frame.curriculum == row["arm"]]["test_wf1"].to_numpy() - base
        cs = confidence_sequence(d, alpha=0.05 / 2)
        assert (row["cs_low"], row["cs_high"]) == pytest.approx((cs.low[-1], cs.high[-1]))
        assert row["cs_low"] <= row["diff_low"] and row["cs_high"] >= row["diff_high"]  # wider than the t interval
    # 12 seeds of a +0.02 gain: the t test calls it, the bounded sequence cannot yet
    assert table.set_index("arm").loc["spcl", "verdict"].startswith("better")
    assert table.set_index("arm").loc["spcl", "cs_decision"] == "undecided"
    assert "anytime-valid" in table.attrs["sequential"]
