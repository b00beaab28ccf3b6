"""How many seeds to run: power from a pilot, and the floor set by exact tests."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from statsmodels.stats.power import TTestPower

from spcl_diag.stats._common import (
    Alternative,
    check_alternative,
    check_positive_int,
    check_rng,
    fill_doc,
)
from spcl_diag.stats.effect_sizes import cohens_dz
from spcl_diag.stats.multiple import Correction, _check_correction, min_adjusted_pvalue
from spcl_diag.stats.paired_tests import (
    PAIRED_TESTS,
    PairedTest,
    _signed_rank_null,
    _tail_pvalue,
    min_attainable_pvalue,
)

WILCOXON_ARE = 3 / math.pi  # asymptotic relative efficiency of Wilcoxon vs t under normality
PLAN_SIMULATIONS = 20_000  # simulated pilots per candidate n (Monte Carlo sd of power <= 0.0035)
PLAN_SEED = 13  # fixed seed of the plan's simulation: a plan is a function of its inputs
MAX_SIMULATED_SEEDS = 200  # above this the ARE approximation is used (it is accurate there)


@dataclass(frozen=True)
class SeedPlan:
    """Seeds needed per arm for a paired comparison.

    Attributes
    ----------
    n_seeds
        Seeds to run: ``max(n_power, n_min_p)``; ``None`` when no finite number suffices
        (pilot effect 0 or undefined).
    n_power
        Seeds for the requested power at the effective level: t-test power (statsmodels) for
        the t and sign-flip tests, the simulated power of the exact test for Wilcoxon.
    n_min_p
        Fewest seeds at which the test can reach the effective level at all.
    effect_size
        Cohen's :math:`d_z` of the pilot.
    alpha_effective
        Per-comparison level used (``alpha / n_comparisons`` for Holm and Bonferroni).
    power
        The requested power.
    test
        The planned test.
    """

    n_seeds: int | None
    n_power: int | None
    n_min_p: int
    effect_size: float
    alpha_effective: float
    power: float
    test: str


def _t_test_seeds(effect: float, level: float, power: float, alternative: str) -> float:
    """Real-valued pairs for the paired t test (statsmodels), at least 2."""
    solver = TTestPower()
    if solver.power(effect_size=effect, nobs=2, alpha=level, alternative=alternative) >= power:
        return 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a failed root search is handled below
        n = np.atleast_1d(solver.solve_power(effect_size=effect, nobs=None, alpha=level, power=power,
                                             alternative=alternative))[0]
    if np.isfinite(n):
        return float(n)
    n = 2
    while solver.power(effect_size=effect, nobs=n, alpha=level, alternative=alternative) < power:
        n += 1
    return float(n)


@fill_doc
def wilcoxon_power(
    n: int,
    effect: float,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    rng: np.random.Generator,
    n_simulations: int = PLAN_SIMULATIONS,
) -> float:
    r"""Power of the exact Wilcoxon signed-rank test with ``n`` normal paired differences.

    Parameters
    ----------
    n
        Number of pairs.
    effect
        Cohen's :math:`d_z`: the differences are drawn from :math:`N(d_z, 1)`.
    alpha
        Level: the test rejects when its exact p-value is at most ``alpha``.
    %(alternative)s
    %(rng)s
    n_simulations
        Simulated data sets.

    Returns
    -------
    float
        The share of simulated data sets on which
        :func:`~spcl_diag.stats.paired_tests.wilcoxon_exact` rejects.

    Notes
    -----
    Without ties the exact null distribution of :math:`W^+` depends only on :math:`n`, so
    the rejection region is tabulated once and each simulated data set needs only its
    :math:`W^+`. The Monte Carlo standard deviation is
    :math:`\sqrt{\pi(1-\pi)/B} \le 0.0035` at :math:`B = 20\,000`.

    Examples
    --------
    >>> round(wilcoxon_power(6, 1.5, rng=np.random.default_rng(0)), 2)
    0.66
    """
    check_rng(rng)
    check_alternative(alternative)
    check_positive_int(n, "n")
    check_positive_int(n_simulations, "n_simulations")
    dist = _signed_rank_null(2 * np.arange(1, n + 1, dtype=np.int64))  # P(2 W+ = w), w = 0..n(n+1)
    greater, less = np.cumsum(dist[::-1])[::-1], np.cumsum(dist)
    pvalues = np.array([_tail_pvalue(g, s, alternative) for g, s in zip(greater, less)])
    reject = pvalues <= alpha * (1 + 1e-12)
    d = rng.normal(effect, 1.0, (n_simulations, n))
    ranks = np.argsort(np.argsort(np.abs(d), axis=1), axis=1) + 1
    plus2 = 2 * np.where(d > 0, ranks, 0).sum(axis=1)
    return float(reject[plus2].mean())


def _wilcoxon_seeds(effect: float, level: float, power: float, alternative: Alternative, start: int, floor: int) -> int:
    """Fewest seeds >= ``floor`` whose simulated exact-Wilcoxon power reaches ``power``."""

    def reaches(n: int) -> bool:
        rng = np.random.default_rng(PLAN_SEED)
        return wilcoxon_power(n, effect, alpha=level, alternative=alternative, rng=rng) >= power

    n = max(start, floor)
    if n > MAX_SIMULATED_SEEDS:
        return n
    if reaches(n):
        while n - 1 >= floor and reaches(n - 1):
            n -= 1
        return n
    while not reaches(n + 1) and n + 1 < MAX_SIMULATED_SEEDS:
        n += 1
    return n + 1


def _min_seeds_for_level(test: PairedTest, level: float, alternative: Alternative) -> int:
    n = 2
    while min_attainable_pvalue(test, n, alternative=alternative) > level:
        n += 1
    return n


@fill_doc
def plan_seeds(
    pilot_a: ArrayLike,
    pilot_b: ArrayLike,
    *,
    test: PairedTest = "wilcoxon",
    power: float = 0.8,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    n_comparisons: int = 1,
    correction: Correction = "holm",
) -> SeedPlan:
    r"""Seeds per arm needed to detect the pilot's paired effect.

    Parameters
    ----------
    pilot_a, pilot_b
        ``[n]`` pilot scores of the arm and of the baseline, paired by seed.
    test
        The test that will be run: ``"t"``, ``"wilcoxon"`` or ``"permutation"``.
    power
        Target probability of rejecting when the pilot effect is true.
    alpha
        Family-wise (Holm, Bonferroni) or per-comparison level.
    %(alternative)s
        For one-sided plans the pilot effect must point the planned way.
    n_comparisons
        Size of the declared family the comparison will be corrected in.
    correction
        ``"holm"``/``"bonferroni"`` plan at :math:`\alpha/k` (the smallest Holm threshold,
        conservative); ``"bh"``/``"none"`` at :math:`\alpha`.

    Returns
    -------
    SeedPlan

    Notes
    -----
    The effect is the pilot's Cohen's :math:`d_z = \bar d / s_d`. For the t test,
    :math:`n` solves :math:`P(|T_{n-1}(\lambda)| > t_{1-\alpha'/2,n-1}) = 1-\beta` with
    noncentrality :math:`\lambda = d_z\sqrt n` (``statsmodels`` ``TTestPower.solve_power``).
    For the Wilcoxon test the power of the exact test itself is simulated
    (:func:`wilcoxon_power`, normal differences, 20,000 data sets from a fixed seed, so the
    plan is deterministic): starting from that :math:`n` divided by the asymptotic relative
    efficiency :math:`3/\pi \approx 0.955` (Lehmann 1975), :math:`n` moves to the fewest
    seeds whose simulated power reaches the target. The efficiency alone falls short at
    :math:`d_z` 1.2-1.5 (0.77 at 1.2, 0.66 at 1.5), where the discreteness of the exact test
    matters. Above 200 seeds the efficiency-scaled :math:`n` is used. The sign-flip test
    uses the t-test :math:`n`.
    Exact tests also need :math:`p_{\min}(n) \le \alpha'`, i.e. :math:`2^{1-n} \le \alpha'`
    two-sided: at least 6 seeds at :math:`\alpha' = 0.05`. A pilot of a few seeds estimates
    :math:`d_z` badly (and optimistically after selection); treat the answer as a floor.

    References
    ----------
    .. [1] Cohen, J. (1988), Statistical Power Analysis for the Behavioral Sciences.
    .. [2] Lehmann, E. L. (1975), Nonparametrics: Statistical Methods Based on Ranks.

    Examples
    --------
    >>> plan = plan_seeds([0.62, 0.64, 0.61, 0.66, 0.63], [0.60, 0.61, 0.61, 0.62, 0.60])
    >>> plan.n_seeds, plan.n_power, plan.n_min_p, round(plan.effect_size, 2)
    (7, 7, 6, 1.58)
    >>> plan_seeds([0.62, 0.64, 0.61, 0.66, 0.63], [0.60, 0.61, 0.61, 0.62, 0.60], test="t").n_seeds
    6
    """
    check_alternative(alternative)
    _check_correction(correction)
    if test not in PAIRED_TESTS:
        raise ValueError(f"test must be one of {', '.join(PAIRED_TESTS)}; got {test!r}.")
    if not 0 < power < 1 or not 0 < alpha < 1:
        raise ValueError(f"power and alpha must lie in (0, 1); got power={power}, alpha={alpha}.")
    if int(n_comparisons) != n_comparisons or n_comparisons < 1:
        raise ValueError(f"n_comparisons must be a positive integer; got {n_comparisons}.")
    level = alpha / n_comparisons if correction in ("holm", "bonferroni") else alpha
    effect = cohens_dz(pilot_a, pilot_b)
    n_min_p = _min_seeds_for_level(test, level, alternative)
    sign_ok = alternative == "two-sided" or (effect > 0) == (alternative == "greater")
    if not math.isfinite(effect) or effect == 0 or not sign_ok:
        return SeedPlan(None, None, n_min_p, effect, level, power, test)
    sm_alternative = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}[alternative]
    effect_arg = abs(effect) if alternative == "two-sided" else effect
    n_t = _t_test_seeds(effect_arg, level, power, sm_alternative)
    efficiency = WILCOXON_ARE if test == "wilcoxon" else 1.0
    n_power = max(2, math.ceil(n_t / efficiency - 1e-9))
    if test == "wilcoxon":
        n_power = _wilcoxon_seeds(effect, level, power, alternative, n_power, n_min_p)
    return SeedPlan(max(n_power, n_min_p), n_power, n_min_p, effect, level, power, test)


def min_seeds(test: PairedTest, *, alpha: float = 0.05, alternative: Alternative = "two-sided",
              n_comparisons: int = 1, correction: Correction = "holm") -> int:
    r"""Fewest seeds with which ``test`` can reach ``alpha`` at all, after correction.

    Parameters
    ----------
    test
        ``"t"``, ``"wilcoxon"`` or ``"permutation"``.
    alpha
        Level the adjusted p-value must get below.
    %(alternative)s
    n_comparisons
        Family size.
    correction
        Correction over the family.

    Returns
    -------
    int
        Smallest :math:`n \ge 2` with adjusted :math:`p_{\min}(n) \le \alpha`.

    Examples
    --------
    >>> min_seeds("wilcoxon"), min_seeds("wilcoxon", n_comparisons=4), min_seeds("t")
    (6, 8, 2)
    """
    check_alternative(alternative)
    n = 2
    while min_adjusted_pvalue(min_attainable_pvalue(test, n, alternative=alternative), n_comparisons, method=correction) > alpha:
        n += 1
    return n


min_seeds = fill_doc(min_seeds)

__all__ = ["SeedPlan", "min_seeds", "plan_seeds", "wilcoxon_power"]
