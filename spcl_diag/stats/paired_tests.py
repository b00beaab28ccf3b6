"""Paired tests seed by seed: Student t, exact Wilcoxon signed-rank, sign-flip permutation.

Every result carries the smallest p-value the test could have produced for its ``n``
(:func:`min_attainable_pvalue`): an exact two-sided test on 5 seeds can never go below
``2 / 2**5 = 0.0625``, so "not significant" there says nothing about the methods.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps

from spcl_diag.stats._common import (
    Alternative,
    as_pair,
    check_alternative,
    check_positive_int,
    check_rng,
    degenerate,
    fill_doc,
    tie_tolerance,
)

PairedTest = Literal["t", "wilcoxon", "permutation"]
PAIRED_TESTS: tuple[str, ...] = ("t", "wilcoxon", "permutation")

def nonzero_differences(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """``a - b`` without the differences that are zero within :func:`tie_tolerance`."""
    d = a - b
    return d[np.abs(d) > tie_tolerance(a, b)]


def _tied_ranks(values: NDArray[np.float64], tol: float) -> NDArray[np.float64]:
    """Mid-ranks of ``values``, with sorted neighbours closer than ``tol`` tied."""
    if values.size == 0:
        return values.copy()
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    group = np.cumsum(np.concatenate([[True], np.diff(sorted_values) > tol])) - 1
    positions = np.arange(1, values.size + 1, dtype=np.float64)
    midranks = np.bincount(group, weights=positions) / np.bincount(group)
    ranks = np.empty(values.size)
    ranks[order] = midranks[group]
    return ranks


@dataclass(frozen=True)
class PairedTestResult:
    """Outcome of a paired test.

    Attributes
    ----------
    statistic
        Test statistic (t; Wilcoxon ``min(W+, W-)`` two-sided, ``W+`` one-sided, as in
        scipy; mean difference for the sign-flip test).
    pvalue
        The p-value (``nan`` for degenerate input).
    min_pvalue
        Smallest p-value this test can give with ``n`` pairs (see
        :func:`min_attainable_pvalue`).
    method
        Name of the test, including ``exact`` or ``Monte Carlo``.
    alternative
        ``"two-sided"``, ``"greater"`` or ``"less"``.
    n
        Number of pairs that entered the test: non-zero differences (within
        :data:`~spcl_diag.stats._common.TIE_RTOL`) for the Wilcoxon and sign-flip tests, all pairs for the t test.
    direction
        +1 when ``a`` tends to exceed ``b`` (mean difference, or ``W+ > W-``), -1 the other
        way, 0 for no tendency.
    """

    statistic: float
    pvalue: float
    min_pvalue: float
    method: str
    alternative: str
    n: int
    direction: int


@fill_doc
def min_attainable_pvalue(
    test: PairedTest, n: int, *, alternative: Alternative = "two-sided", n_resamples: int | None = None
) -> float:
    r"""Smallest p-value ``test`` can return with ``n`` pairs, whatever the data.

    Parameters
    ----------
    test
        ``"t"``, ``"wilcoxon"`` (exact) or ``"permutation"`` (sign flip).
    n
        Number of pairs (for Wilcoxon: non-zero differences).
    %(alternative)s
    n_resamples
        For a Monte Carlo sign-flip test, its number of resamples; ``None`` for exact.

    Returns
    -------
    float
        ``0.0`` for the t test (t grows without bound), ``1.0`` when ``n == 0``.

    Notes
    -----
    Exact Wilcoxon and exact sign-flip tests reach their extreme when all :math:`n`
    differences share one sign: one of the :math:`2^n` equally likely sign patterns (two
    for the two-sided test), so

    .. math:: p_{\min} = 2^{-n} \text{ (one-sided)}, \qquad \min(1, 2^{1-n}) \text{ (two-sided)}.

    A Monte Carlo p-value :math:`(k+1)/(B+1)` cannot go below :math:`1/(B+1)` (one-sided)
    or :math:`2/(B+1)` (two-sided) either; the larger bound applies.

    Examples
    --------
    >>> min_attainable_pvalue("wilcoxon", 5), min_attainable_pvalue("wilcoxon", 3)
    (0.0625, 0.25)
    >>> min_attainable_pvalue("permutation", 6, alternative="greater")
    0.015625
    >>> min_attainable_pvalue("t", 3)
    0.0
    """
    check_alternative(alternative)
    if test not in PAIRED_TESTS:
        raise ValueError(f"test must be one of {', '.join(PAIRED_TESTS)}; got {test!r}.")
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer; got {n}.")
    if n == 0:
        return 1.0
    if test == "t":
        return 0.0
    sides = 2 if alternative == "two-sided" else 1
    p = min(1.0, sides * 0.5**n)
    if test == "permutation" and n_resamples is not None:
        p = max(p, min(1.0, sides / (n_resamples + 1)))
    return p


def _direction(value: float) -> int:
    return int(np.sign(value)) if np.isfinite(value) else 0


def _tail_pvalue(greater: float, less: float, alternative: str) -> float:
    if alternative == "greater":
        return greater
    if alternative == "less":
        return less
    return min(1.0, 2 * min(greater, less))


@fill_doc
def paired_t_test(a: ArrayLike, b: ArrayLike, *, alternative: Alternative = "two-sided") -> PairedTestResult:
    r"""Student's paired t test of the mean difference (``scipy.stats.ttest_rel``).

    Parameters
    ----------
    %(paired)s
    %(alternative)s

    Returns
    -------
    PairedTestResult
        ``min_pvalue`` is 0.

    Notes
    -----
    .. math:: t = \frac{\bar d}{s_d / \sqrt n}, \qquad p \text{ from } t_{n-1}.

    %(degenerate)s

    References
    ----------
    .. [1] Student (1908), The probable error of a mean. Biometrika 6(1).

    Examples
    --------
    >>> res = paired_t_test([0.62, 0.64, 0.61, 0.66, 0.63], [0.60, 0.61, 0.61, 0.62, 0.60])
    >>> round(res.statistic, 3), round(res.pvalue, 4), res.min_pvalue
    (3.539, 0.024, 0.0)
    """
    check_alternative(alternative)
    x, y = as_pair(a, b)
    d = x - y
    n = d.size
    method = "paired t"
    sd = d.std(ddof=1) if n > 1 else 0.0
    if n < 2 or sd <= tie_tolerance(x, y):  # constant up to rounding noise
        nan = degenerate(f"paired t test: needs at least 2 pairs with non-constant differences; got n={n}, sd={sd}.")
        return PairedTestResult(nan, nan, 0.0, method, alternative, n, _direction(float(d.mean()) if n else 0.0))
    t = float(d.mean() / (sd / math.sqrt(n)))
    p = _tail_pvalue(float(sps.t.sf(t, n - 1)), float(sps.t.cdf(t, n - 1)), alternative)
    return PairedTestResult(t, p, 0.0, method, alternative, n, _direction(t))


def _signed_rank_null(doubled_ranks: NDArray[np.int64]) -> NDArray[np.float64]:
    """Exact null distribution of ``2 W+`` for the given (doubled, integer) ranks."""
    total = int(doubled_ranks.sum())
    dist = np.zeros(total + 1)
    dist[0] = 1.0
    for r in doubled_ranks:  # each rank enters W+ with probability 1/2, independently
        shifted = np.zeros_like(dist)
        shifted[r:] = dist[: total + 1 - r]
        dist = 0.5 * (dist + shifted)
    return dist


@fill_doc
def wilcoxon_exact(
    a: ArrayLike,
    b: ArrayLike,
    *,
    alternative: Alternative = "two-sided",
    zero_method: Literal["wilcox", "pratt"] = "wilcox",
) -> PairedTestResult:
    r"""Exact Wilcoxon signed-rank test, valid with ties (``scipy.stats.wilcoxon``).

    Parameters
    ----------
    %(paired)s
    %(alternative)s
    zero_method
        ``"wilcox"`` drops zero differences before ranking; ``"pratt"`` ranks them and
        then drops them.

    Returns
    -------
    PairedTestResult
        ``n`` counts the non-zero differences; ``min_pvalue`` is :math:`2^{1-n}`
        (two-sided).

    Notes
    -----
    Rank :math:`|d_i|` (mid-ranks for ties) and let :math:`W^+ = \sum_{d_i > 0} r_i`.
    Under :math:`H_0` (differences symmetric about 0) each rank carries either sign with
    probability 1/2, so the exact null distribution of :math:`W^+` given the ranks is the
    coefficient sequence of :math:`\prod_i \tfrac12 (1 + x^{r_i})` (computed on doubled
    ranks, which are integers). One-sided p-values are :math:`P(W^+ \ge w^+)` and
    :math:`P(W^+ \le w^+)`; two-sided is twice the smaller, capped at 1. No normal
    approximation is ever used. Differences within :data:`~spcl_diag.stats._common.TIE_RTOL` times the largest
    absolute score of each other are tied (sorted neighbours closer than that share a
    mid-rank) and those that close to 0 are zero, so scores kept at a fixed precision are
    not ranked by floating-point noise. With ties this is the exact *conditional* (permutation)
    distribution, as ``scipy.stats.wilcoxon(..., method=PermutationMethod(n_resamples=inf))``;
    scipy's ``method="exact"`` instead uses the untied table, which is conservative there.
    %(degenerate)s

    References
    ----------
    .. [1] Wilcoxon, F. (1945), Individual comparisons by ranking methods. Biometrics 1(6).
    .. [2] Pratt, J. (1959), Remarks on zeros and ties in the Wilcoxon signed rank
       procedures. JASA 54(287).

    Examples
    --------
    >>> res = wilcoxon_exact([0.62, 0.64, 0.61, 0.66, 0.63], [0.60, 0.61, 0.60, 0.62, 0.60])
    >>> res.pvalue, res.min_pvalue, res.n
    (0.0625, 0.0625, 5)
    """
    check_alternative(alternative)
    if zero_method not in ("wilcox", "pratt"):
        raise ValueError(f"zero_method must be 'wilcox' or 'pratt'; got {zero_method!r}.")
    x, y = as_pair(a, b)
    d, tol = x - y, tie_tolerance(x, y)
    nonzero = np.abs(d) > tol
    if zero_method == "wilcox":
        d = d[nonzero]
        ranks = _tied_ranks(np.abs(d), tol)
    else:
        ranks = _tied_ranks(np.where(nonzero, np.abs(d), 0.0), tol)
        ranks, d = ranks[nonzero], d[nonzero]
    n = d.size
    method = f"exact Wilcoxon signed-rank ({zero_method})"
    if n == 0:
        nan = degenerate("exact Wilcoxon test: all differences are zero, nothing to test.")
        return PairedTestResult(nan, nan, 1.0, method, alternative, 0, 0)
    doubled = np.rint(2 * ranks).astype(np.int64)
    plus2 = int(doubled[d > 0].sum())
    dist = _signed_rank_null(doubled)
    greater, less = float(dist[plus2:].sum()), float(dist[: plus2 + 1].sum())
    p = min(1.0, _tail_pvalue(greater, less, alternative))
    w_plus, w_minus = plus2 / 2, (int(doubled.sum()) - plus2) / 2
    statistic = min(w_plus, w_minus) if alternative == "two-sided" else w_plus
    return PairedTestResult(
        float(statistic), p, min_attainable_pvalue("wilcoxon", n, alternative=alternative),
        method, alternative, n, _direction(w_plus - w_minus),
    )


@fill_doc
def sign_flip_test(
    a: ArrayLike,
    b: ArrayLike,
    *,
    rng: np.random.Generator,
    alternative: Alternative = "two-sided",
    max_exact_patterns: int = 2**16,
    n_resamples: int = 9999,
) -> PairedTestResult:
    r"""Paired permutation test by flipping the sign of each difference.

    Parameters
    ----------
    %(paired)s
    %(rng)s
        Used only for the Monte Carlo version.
    %(alternative)s
    max_exact_patterns
        Enumerate all :math:`2^n` sign patterns when :math:`2^n` is at most this;
        otherwise draw ``n_resamples`` random patterns.
    n_resamples
        Random sign patterns of the Monte Carlo version.

    Returns
    -------
    PairedTestResult
        ``statistic`` is the mean difference; ``n`` the number of non-zero differences.

    Notes
    -----
    Under :math:`H_0` (the two arms exchangeable within each seed) every sign pattern
    :math:`s \in \{-1, 1\}^n` is equally likely, so with :math:`T(s) = \frac1n\sum_i s_i d_i`

    .. math:: p_{\ge} = \frac{\#\{s : T(s) \ge T_{obs}\}}{2^n}, \qquad
              p_{\text{two-sided}} = \min(1, 2\min(p_{\ge}, p_{\le})).

    Zero differences (within :data:`~spcl_diag.stats._common.TIE_RTOL`) flip to themselves, so only the :math:`k`
    non-zero ones are enumerated (:math:`2^k` patterns, the same p-value) and the smallest
    attainable two-sided p-value is :math:`2/2^k`. The Monte Carlo version draws :math:`B`
    patterns and uses :math:`(k+1)/(B+1)`, which is
    a valid p-value [2]_. Comparisons allow a relative tolerance of :math:`10^{-12}` so
    that rounding does not split ties. Exact results equal
    ``scipy.stats.permutation_test(..., permutation_type="samples", n_resamples=np.inf)``.

    References
    ----------
    .. [1] Fisher, R. A. (1935), The Design of Experiments, sec. 21.
    .. [2] Phipson, B. & Smyth, G. (2010), Permutation p-values should never be zero.
       Stat. Appl. Genet. Mol. Biol. 9(1).

    Examples
    --------
    >>> res = sign_flip_test([0.62, 0.64, 0.61, 0.66, 0.63], [0.60, 0.61, 0.60, 0.62, 0.60],
    ...                      rng=np.random.default_rng(0))
    >>> res.pvalue, res.min_pvalue, res.method
    (0.0625, 0.0625, 'sign-flip permutation (exact, 32 patterns)')
    """
    check_rng(rng)
    check_alternative(alternative)
    check_positive_int(max_exact_patterns, "max_exact_patterns")
    check_positive_int(n_resamples, "n_resamples")
    x, y = as_pair(a, b)
    if x.size == 0:
        nan = degenerate("sign-flip test: no pairs.")
        return PairedTestResult(nan, nan, 1.0, "sign-flip permutation", alternative, 0, 0)
    observed = float((x - y).mean())
    d = nonzero_differences(x, y)  # zeros flip to themselves: they change no pattern's rank
    n = d.size
    if n == 0:
        nan = degenerate("sign-flip test: all differences are zero, nothing to test.")
        return PairedTestResult(observed, nan, 1.0, "sign-flip permutation", alternative, 0, 0)
    if 2**n <= max_exact_patterns:
        bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1  # [2^n, n]
        signs = 1 - 2 * bits
        adjust, resamples = 0, None
        method = f"sign-flip permutation (exact, {2**n} patterns)"
    else:
        signs = 1 - 2 * rng.integers(0, 2, (n_resamples, n))
        adjust, resamples = 1, n_resamples
        method = f"sign-flip permutation (Monte Carlo, {n_resamples} resamples)"
    null = (signs * d).sum(axis=1) / x.size
    tol = 1e-12 * max(1.0, abs(observed))
    greater = (np.count_nonzero(null >= observed - tol) + adjust) / (null.size + adjust)
    less = (np.count_nonzero(null <= observed + tol) + adjust) / (null.size + adjust)
    p = _tail_pvalue(float(greater), float(less), alternative)
    floor = min_attainable_pvalue("permutation", n, alternative=alternative, n_resamples=resamples)
    return PairedTestResult(observed, p, floor, method, alternative, n, _direction(observed))


@fill_doc
def paired_test(
    a: ArrayLike,
    b: ArrayLike,
    *,
    test: PairedTest = "wilcoxon",
    rng: np.random.Generator,
    alternative: Alternative = "two-sided",
) -> PairedTestResult:
    """Run the paired test named by ``test`` (``"t"``, ``"wilcoxon"``, ``"permutation"``).

    Parameters
    ----------
    %(paired)s
    test
        Which test; see :func:`paired_t_test`, :func:`wilcoxon_exact`, :func:`sign_flip_test`.
    %(rng)s
    %(alternative)s

    Returns
    -------
    PairedTestResult

    Examples
    --------
    >>> paired_test([1.0, 2.0, 3.0], [0.0, 0.5, 1.0], test="wilcoxon", rng=np.random.default_rng(0)).pvalue
    0.25
    """
    if test == "t":
        return paired_t_test(a, b, alternative=alternative)
    if test == "wilcoxon":
        return wilcoxon_exact(a, b, alternative=alternative)
    if test == "permutation":
        return sign_flip_test(a, b, rng=rng, alternative=alternative)
    raise ValueError(f"test must be one of {', '.join(PAIRED_TESTS)}; got {test!r}.")


__all__ = [
    "PAIRED_TESTS",
    "PairedTestResult",
    "min_attainable_pvalue",
    "nonzero_differences",
    "paired_t_test",
    "paired_test",
    "sign_flip_test",
    "wilcoxon_exact",
]
