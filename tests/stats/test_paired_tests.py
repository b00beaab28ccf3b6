"""Paired tests against scipy's ttest_rel, wilcoxon(method='exact') and permutation_test."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as sps

from spcl_diag.stats import min_attainable_pvalue, paired_t_test, sign_flip_test, wilcoxon_exact

ALTERNATIVES = ["two-sided", "greater", "less"]
TOL = 1e-12


def _pairs(seed: int, n: int, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0.62, 0.02, n), rng.normal(0.61, 0.02, n)
    if ties:  # rounded scores give tied |d| and zero differences
        a, b = np.round(a, 2), np.round(b, 2)
    return a, b


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_t_matches_ttest_rel(alternative: str) -> None:
    a, b = _pairs(0, 6)
    ours, ref = paired_t_test(a, b, alternative=alternative), sps.ttest_rel(a, b, alternative=alternative)
    np.testing.assert_allclose([ours.statistic, ours.pvalue], [ref.statistic, ref.pvalue], rtol=TOL)
    assert ours.min_pvalue == 0.0


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("zero_method", ["wilcox", "pratt"])
@pytest.mark.parametrize("seed,n,ties", [(1, 5, False), (2, 8, False), (3, 9, True), (4, 10, True)])
def test_wilcoxon_matches_scipy_exact(alternative: str, zero_method: str, seed: int, n: int, ties: bool) -> None:
    a, b = _pairs(seed, n, ties)
    ours = wilcoxon_exact(a, b, alternative=alternative, zero_method=zero_method)
    # without ties scipy's exact table; with ties the exact conditional (permutation) null,
    # since scipy's method="exact" then uses the untied table (conservative, not exact)
    method = sps.PermutationMethod(n_resamples=np.inf) if ties else "exact"
    ref = sps.wilcoxon(a, b, alternative=alternative, zero_method=zero_method, method=method)
    np.testing.assert_allclose([ours.statistic, ours.pvalue], [ref.statistic, ref.pvalue], rtol=1e-10)
    assert ours.pvalue >= ours.min_pvalue


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("seed,n", [(5, 4), (6, 7), (7, 10)])
def test_sign_flip_exact_matches_permutation_test(alternative: str, seed: int, n: int) -> None:
    a, b = _pairs(seed, n, ties=seed == 6)
    ours = sign_flip_test(a, b, rng=np.random.default_rng(0), alternative=alternative)
    ref = sps.permutation_test(
        (a, b), lambda x, y, axis: np.mean(x - y, axis=axis), permutation_type="samples",
        n_resamples=np.inf, alternative=alternative, vectorized=True,
    )
    np.testing.assert_allclose([ours.statistic, ours.pvalue], [ref.statistic, ref.pvalue], rtol=1e-10)
    assert "exact" in ours.method


def test_sign_flip_monte_carlo_close_to_exact() -> None:
    a, b = _pairs(8, 12)
    exact = sign_flip_test(a, b, rng=np.random.default_rng(0))
    mc = sign_flip_test(a, b, rng=np.random.default_rng(0), max_exact_patterns=1000, n_resamples=20_000)
    assert "Monte Carlo" in mc.method
    q = exact.pvalue / 2  # two-sided p = 2 min(one-sided); sd of 2 q_hat is 2 sqrt(q(1-q)/B)
    assert abs(mc.pvalue - exact.pvalue) < 4 * 2 * np.sqrt(q * (1 - q) / 20_000)
    assert mc.min_pvalue == pytest.approx(max(2 / 2**12, 2 / 20_001))


def test_min_attainable_pvalue_values() -> None:
    assert min_attainable_pvalue("wilcoxon", 5) == 0.0625  # 5 seeds can never give p < 0.05
    assert min_attainable_pvalue("wilcoxon", 3) == 0.25
    assert min_attainable_pvalue("permutation", 6) == 2 / 2**6
    assert min_attainable_pvalue("wilcoxon", 6, alternative="less") == 1 / 2**6
    assert min_attainable_pvalue("t", 3) == 0.0
    assert min_attainable_pvalue("wilcoxon", 1) == 1.0 and min_attainable_pvalue("wilcoxon", 0) == 1.0


@pytest.mark.parametrize("n", [3, 4, 5])
def test_min_attainable_pvalue_is_the_minimum_over_all_sign_patterns(n: int) -> None:
    magnitudes = np.arange(1.0, n + 1)
    for test in ("wilcoxon", "permutation"):
        ps = []
        for signs in itertools.product([-1.0, 1.0], repeat=n):
            d = magnitudes * np.array(signs)
            res = (wilcoxon_exact(d, np.zeros(n)) if test == "wilcoxon"
                   else sign_flip_test(d, np.zeros(n), rng=np.random.default_rng(0)))
            ps.append(res.pvalue)
        assert min(ps) == pytest.approx(min_attainable_pvalue(test, n), rel=TOL)


def test_wilcoxon_direction_and_zero_differences() -> None:
    res = wilcoxon_exact([3.0, 2.0, 5.0, 1.0], [1.0, 2.0, 1.0, 0.0])
    assert res.n == 3 and res.direction == 1 and res.min_pvalue == 0.25
    with pytest.warns(RuntimeWarning, match="all differences are zero"):
        res = wilcoxon_exact([1.0, 2.0], [1.0, 2.0])
    assert np.isnan(res.pvalue)


def test_paired_errors() -> None:
    with pytest.raises(ValueError, match="same length; got a: 3, b: 2"):
        paired_t_test([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="alternative must be one of"):
        wilcoxon_exact([1.0], [0.0], alternative="bigger")  # type: ignore[arg-type]
    with pytest.warns(RuntimeWarning, match="non-constant differences"):
        assert np.isnan(paired_t_test([1.0, 2.0], [0.0, 1.0]).pvalue)


B_ROUNDED = np.array([.6101, .7034, .5212, .6645, .8017, .9061, .4125, .3378, .5556, .6004])


def test_wilcoxon_ties_at_the_scores_precision() -> None:
    # nine differences of +.0023 and one of -.0023, all equal at 4 decimals: one tie group
    a = np.round(np.concatenate([B_ROUNDED[:9] + 0.0023, B_ROUNDED[9:] - 0.0023]), 4)
    res = wilcoxon_exact(a, B_ROUNDED)
    assert res.pvalue == pytest.approx(0.021484375, rel=TOL)  # 22 / 1024: W- = 5.5 of 55
    d = np.round(a - B_ROUNDED, 10)  # the same differences without rounding noise
    ref = sps.wilcoxon(d, method=sps.PermutationMethod(n_resamples=np.inf))
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-10)


def test_wilcoxon_zero_within_tolerance_is_zero() -> None:
    b = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    a = b + np.array([0.05, 0.04, 0.0, 0.06, 0.07, 0.02, 0.03])
    a[2] = 0.1 + 0.2  # 0.30000000000000004: a zero difference up to rounding
    res = wilcoxon_exact(a, b)
    assert res.n == 6 and res.pvalue == pytest.approx(2 / 2**6, rel=TOL)


def test_sign_flip_floor_counts_non_zero_differences() -> None:
    b = np.linspace(0.5, 0.6, 8)
    a = b + np.array([0.01, 0.02, 0.03, 0.04, 0.05, 0.0, 0.0, 0.0])
    res = sign_flip_test(a, b, rng=np.random.default_rng(0))
    assert res.n == 5 and res.min_pvalue == 2 / 2**5 == res.pvalue
    ref = sps.permutation_test(
        (a, b), lambda x, y, axis: np.mean(x - y, axis=axis), permutation_type="samples",
        n_resamples=np.inf, vectorized=True,
    )
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
    with pytest.warns(RuntimeWarning, match="all differences are zero"):
        assert np.isnan(sign_flip_test(b, b, rng=np.random.default_rng(0)).pvalue)


def test_t_test_constant_differences_up_to_rounding_are_undefined() -> None:
    with pytest.warns(RuntimeWarning, match="non-constant differences"):
        assert np.isnan(paired_t_test(np.round(B_ROUNDED + 0.0023, 4), B_ROUNDED).pvalue)
