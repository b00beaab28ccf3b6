"""Hodges-Lehmann shift and its signed-rank interval against a loop reference and scipy's Wilcoxon."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as sps

from spcl_diag.stats.hodges_lehmann import hodges_lehmann, signed_rank_critical_value


def _cdf_scipy(n: int, c: int) -> float:
    """P(W+ <= c) for n untied differences, from scipy's exact Wilcoxon null distribution."""
    chosen, rest = [], c
    for rank in range(n, 0, -1):  # ranks with W+ = c exactly: greedy from the largest
        if rank <= rest:
            chosen.append(rank)
            rest -= rank
    assert rest == 0
    d = np.array([r if r in chosen else -r for r in range(1, n + 1)], dtype=float)
    return float(sps.wilcoxon(d, alternative="less", method="exact").pvalue)


def _reference(d: np.ndarray, level: float) -> tuple[float, float, float]:
    """Walsh averages by a double loop; the critical value from scipy's null distribution."""
    n = d.size
    walsh = sorted((d[i] + d[j]) / 2 for i in range(n) for j in range(i, n))
    c = -1
    while _cdf_scipy(n, c + 1) <= (1 - level) / 2:
        c += 1
    lo, hi = (walsh[c], walsh[len(walsh) - 1 - c]) if c >= 0 else (np.nan, np.nan)
    return float(np.median(walsh)), lo, hi


@pytest.mark.parametrize(("n", "level"), [(6, 0.95), (8, 0.95), (10, 0.9), (12, 0.95), (15, 0.99)])
def test_matches_the_loop_reference(n: int, level: float) -> None:
    rng = np.random.default_rng(n)
    a, b = rng.normal(0.62, 0.02, n), rng.normal(0.60, 0.02, n)
    res = hodges_lehmann(a, b, confidence_level=level)
    assert (res.estimate, res.low, res.high) == pytest.approx(_reference(a - b, level), abs=1e-15)
    assert res.low <= res.estimate <= res.high and res.n == n and res.confidence_level == level


def test_critical_values_are_the_exact_table() -> None:
    # two-sided 5 % critical values of the signed-rank statistic (Wilcoxon's table), n = 6..15
    assert [signed_rank_critical_value(n, 0.95) for n in range(6, 16)] == [0, 2, 3, 5, 8, 10, 13, 17, 21, 25]
    assert signed_rank_critical_value(5, 0.95) == -1 and signed_rank_critical_value(5, 0.9) == 0


def test_interval_is_the_set_of_shifts_the_exact_test_keeps() -> None:
    """Inverting scipy's exact two-sided test: shifts just inside the bounds are kept, just outside rejected."""
    d = np.random.default_rng(3).normal(0.01, 0.02, 10)
    res = hodges_lehmann(d, np.zeros(10))
    eps = 1e-9
    for theta, kept in ((res.low + eps, True), (res.high - eps, True), (res.low - eps, False), (res.high + eps, False)):
        p = sps.wilcoxon(d - theta, method="exact").pvalue
        assert (p >= 0.05) == kept, (theta, p)


def test_coverage_under_symmetric_differences() -> None:
    rng = np.random.default_rng(0)
    hits = [hodges_lehmann(rng.standard_t(3, 8) + 0.3, np.zeros(8)).contains(0.3) for _ in range(400)]
    assert np.mean(hits) >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / 400)  # exact-level interval: at least nominal


def test_the_issue_example_and_too_few_pairs() -> None:
    res = hodges_lehmann([0.01] * 11 + [-0.08], [0.0] * 12)
    assert (res.estimate, res.low, res.high) == pytest.approx((0.01, 0.01, 0.01))
    with pytest.warns(RuntimeWarning, match="5 pairs cannot give a 95% signed-rank interval"):
        few = hodges_lehmann([1.0, 2.0, 3.0, 4.0, 5.0], [0.0] * 5)
    assert few.estimate == 3.0 and np.isnan(few.low) and np.isnan(few.high)


def test_walsh_median_of_a_tiny_sample() -> None:
    # d = 1, 2, 4: Walsh averages 1, 1.5, 2, 2.5, 3, 4 -> median 2.25
    walsh = sorted((x + y) / 2 for x, y in itertools.combinations_with_replacement([1.0, 2.0, 4.0], 2))
    assert hodges_lehmann([1.0, 2.0, 4.0], [0.0, 0.0, 0.0], confidence_level=0.5).estimate == np.median(walsh) == 2.25
