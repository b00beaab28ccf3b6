"""Effect sizes against scipy (t, Mann-Whitney U) and loop-based references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from spcl_diag.stats import (
    cliffs_delta,
    cohens_dz,
    hedges_g,
    probability_of_improvement,
    probability_of_improvement_ci,
)

TOL = 1e-12


def _samples(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.round(rng.normal(0.62, 0.02, 7), 2), np.round(rng.normal(0.61, 0.02, 6), 2)  # with ties


def test_cohens_dz_is_t_over_sqrt_n() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=6), rng.normal(size=6)
    assert cohens_dz(a, b) == pytest.approx(sps.ttest_rel(a, b).statistic / math.sqrt(6), rel=TOL)


def test_hedges_g_matches_loop_reference() -> None:
    a, b = _samples()
    na, nb = len(a), len(b)
    ma, mb = sum(a) / na, sum(b) / nb
    ssa = sum((x - ma) ** 2 for x in a)
    ssb = sum((x - mb) ** 2 for x in b)
    nu = na + nb - 2
    d = (ma - mb) / math.sqrt((ssa + ssb) / nu)
    j = math.gamma(nu / 2) / (math.sqrt(nu / 2) * math.gamma((nu - 1) / 2))
    assert hedges_g(a, b) == pytest.approx(j * d, rel=TOL)
    assert j == pytest.approx(1 - 3 / (4 * nu - 1), abs=2e-3)  # Hedges' approximation


def test_cliffs_delta_and_probability_of_improvement_against_loop_and_mannwhitneyu() -> None:
    a, b = _samples(2)
    greater = sum(1 for x in a for y in b if x > y)
    less = sum(1 for x in a for y in b if x < y)
    assert cliffs_delta(a, b) == pytest.approx((greater - less) / (len(a) * len(b)), rel=TOL)
    u = sps.mannwhitneyu(a, b).statistic  # ties count 1/2
    assert probability_of_improvement(a, b) == pytest.approx(u / (len(a) * len(b)), rel=TOL)
    assert cliffs_delta(a, b) == pytest.approx(2 * probability_of_improvement(a, b) - 1, rel=TOL)


def test_probability_of_improvement_ci_contains_estimate_and_is_seeded() -> None:
    a, b = _samples(3)
    first = probability_of_improvement_ci(a, b, rng=np.random.default_rng(0), n_resamples=500)
    assert first.contains(first.estimate)
    assert first == probability_of_improvement_ci(a, b, rng=np.random.default_rng(0), n_resamples=500)


def test_degenerate_effect_sizes_warn() -> None:
    with pytest.warns(RuntimeWarning, match="0/0"):
        assert np.isnan(cohens_dz([1.0, 2.0], [1.0, 2.0]))
    with pytest.warns(RuntimeWarning, match="pooled SD 0"):
        assert np.isnan(hedges_g([1.0, 1.0], [2.0, 2.0]))


def test_constant_differences_give_infinite_dz() -> None:
    b = np.array([0.6101, 0.7034, 0.5212, 0.6645])
    with pytest.warns(RuntimeWarning, match="every pair"):
        assert cohens_dz(np.round(b + 0.0023, 4), b) == np.inf  # sd is rounding noise, not 0
    with pytest.warns(RuntimeWarning, match="-inf"):
        assert cohens_dz(b - 0.01, b) == -np.inf
