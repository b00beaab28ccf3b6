"""Effect sizes of arm A against baseline B: Cohen's d_z, Hedges' g, Cliff's delta, P(A > B)."""

from __future__ import annotations

import math
import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from spcl_diag.stats._common import (
    as_pair,
    as_vector,
    check_confidence_level,
    check_positive_int,
    check_rng,
    degenerate,
    fill_doc,
    tie_tolerance,
)
from spcl_diag.stats.intervals import Interval


@fill_doc
def cohens_dz(a: ArrayLike, b: ArrayLike) -> float:
    r"""Cohen's :math:`d_z`: mean paired difference in units of its standard deviation.

    Parameters
    ----------
    %(paired)s

    Returns
    -------
    float

    Notes
    -----
    .. math:: d_z = \bar d / s_d, \qquad s_d^2 = \tfrac{1}{n-1}\sum_i (d_i - \bar d)^2.

    It is the effect size of the paired t test (:math:`t = d_z\sqrt n`) and the one that
    :class:`statsmodels.stats.power.TTestPower` expects. When every difference is the same
    non-zero value (standard deviation 0 up to
    :data:`~spcl_diag.stats._common.TIE_RTOL`) it is :math:`\pm\infty`, with a
    :class:`RuntimeWarning`; when every difference is zero it is ``nan`` (0/0).

    References
    ----------
    .. [1] Cohen, J. (1988), Statistical Power Analysis for the Behavioral Sciences, 2nd ed.
    .. [2] Lakens, D. (2013), Calculating and reporting effect sizes. Front. Psychol. 4:863.

    Examples
    --------
    >>> round(cohens_dz([0.62, 0.64, 0.61, 0.66, 0.63], [0.60, 0.61, 0.61, 0.62, 0.60]), 3)
    1.583
    """
    x, y = as_pair(a, b)
    d = x - y
    if d.size < 2:
        return degenerate(f"Cohen's d_z: needs 2+ pairs; got n={d.size}.")
    tol = tie_tolerance(x, y)
    if d.std(ddof=1) <= tol:  # constant differences, up to rounding noise
        mean = float(d.mean())
        if abs(mean) <= tol:
            return degenerate("Cohen's d_z: every difference is zero (0/0).")
        warnings.warn(f"Cohen's d_z: the difference is {mean:.6g} on every pair (sd 0), so d_z is "
                      f"{'+' if mean > 0 else '-'}inf.", RuntimeWarning, stacklevel=2)
        return math.copysign(math.inf, mean)
    return float(d.mean() / d.std(ddof=1))


def hedges_g(a: ArrayLike, b: ArrayLike) -> float:
    r"""Hedges' :math:`g`: difference of means over the pooled SD, bias-corrected.

    Parameters
    ----------
    a, b
        ``[n_a]`` and ``[n_b]`` scores (pairing is ignored).

    Returns
    -------
    float

    Notes
    -----
    .. math::

        g = J(\nu)\,\frac{\bar a - \bar b}{s_p}, \quad
        s_p^2 = \frac{(n_a-1)s_a^2 + (n_b-1)s_b^2}{\nu}, \quad \nu = n_a + n_b - 2, \quad
        J(\nu) = \frac{\Gamma(\nu/2)}{\sqrt{\nu/2}\,\Gamma((\nu-1)/2)}

    (the exact small-sample correction; :math:`J \approx 1 - 3/(4\nu - 1)`). Returns ``nan``
    with a :class:`RuntimeWarning` when :math:`s_p = 0` or :math:`\nu < 2`.

    References
    ----------
    .. [1] Hedges, L. V. (1981), Distribution theory for Glass's estimator of effect size
       and related estimators. J. Educ. Stat. 6(2).

    Examples
    --------
    >>> round(hedges_g([0.62, 0.64, 0.61, 0.66, 0.63], [0.60, 0.61, 0.61, 0.62, 0.60]), 3)
    1.461
    """
    x, y = as_vector(a, "a", min_size=1), as_vector(b, "b", min_size=1)
    nu = x.size + y.size - 2
    if nu < 2:
        return degenerate(f"Hedges' g: needs n_a + n_b >= 4; got {x.size} + {y.size}.")
    pooled = math.sqrt(((x.size - 1) * x.var(ddof=1) + (y.size - 1) * y.var(ddof=1)) / nu)
    if pooled == 0:
        return degenerate("Hedges' g: both samples are constant (pooled SD 0).")
    correction = math.exp(special.gammaln(nu / 2) - special.gammaln((nu - 1) / 2)) / math.sqrt(nu / 2)
    return float(correction * (x.mean() - y.mean()) / pooled)


def probability_of_improvement(a: ArrayLike, b: ArrayLike) -> float:
    r"""Probability that a random run of A scores higher than a random run of B.

    Parameters
    ----------
    a, b
        ``[n_a]`` and ``[n_b]`` scores, higher is better.

    Returns
    -------
    float
        In [0, 1]; 0.5 means no tendency.

    Notes
    -----
    .. math:: P(A > B) = \frac{1}{n_a n_b}\sum_{i,j} S(a_i, b_j), \quad
              S(x, y) = \begin{cases} 1 & x > y \\ \tfrac12 & x = y \\ 0 & x < y \end{cases}

    the Mann-Whitney :math:`U/(n_a n_b)`. Agarwal et al. average it over tasks.

    References
    ----------
    .. [1] Agarwal et al. (2021), Deep reinforcement learning at the edge of the
       statistical precipice. NeurIPS.

    Examples
    --------
    >>> probability_of_improvement([3.0, 4.0], [1.0, 3.0])
    0.875
    """
    x, y = as_vector(a, "a", min_size=1), as_vector(b, "b", min_size=1)
    return float(np.mean(np.sign(x[:, None] - y[None, :])) / 2 + 0.5)


def cliffs_delta(a: ArrayLike, b: ArrayLike) -> float:
    r"""Cliff's :math:`\delta`: :math:`P(A > B) - P(A < B)` over all pairs of runs.

    Parameters
    ----------
    a, b
        ``[n_a]`` and ``[n_b]`` scores.

    Returns
    -------
    float
        In [-1, 1]; equals :math:`2 P(A > B) - 1` with ties counted half.

    Notes
    -----
    .. math:: \delta = \frac{1}{n_a n_b}\sum_{i,j} \operatorname{sign}(a_i - b_j)

    References
    ----------
    .. [1] Cliff, N. (1993), Dominance statistics: ordinal analyses to answer ordinal
       questions. Psychol. Bull. 114(3).

    Examples
    --------
    >>> cliffs_delta([3.0, 4.0], [1.0, 3.0])
    0.75
    """
    x, y = as_vector(a, "a", min_size=1), as_vector(b, "b", min_size=1)
    return float(np.mean(np.sign(x[:, None] - y[None, :])))


@fill_doc
def probability_of_improvement_ci(
    a: ArrayLike,
    b: ArrayLike,
    *,
    rng: np.random.Generator,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
) -> Interval:
    r"""Percentile bootstrap interval of :func:`probability_of_improvement`.

    Parameters
    ----------
    a, b
        ``[n_a]`` and ``[n_b]`` scores.
    %(rng)s
    %(n_resamples)s
    %(confidence_level)s

    Returns
    -------
    Interval
        ``method`` is ``"bootstrap-percentile"``; ``n`` is ``n_a + n_b``.

    Notes
    -----
    Each sample is resampled independently (a stratified bootstrap with the two arms as
    strata), as in Agarwal et al. (2021).

    Examples
    --------
    >>> res = probability_of_improvement_ci([3.0, 4.0, 5.0], [1.0, 3.0, 2.0], rng=np.random.default_rng(0))
    >>> round(res.estimate, 3), res.high
    (0.944, 1.0)
    """
    check_rng(rng)
    check_confidence_level(confidence_level)
    check_positive_int(n_resamples, "n_resamples")
    x, y = as_vector(a, "a", min_size=1), as_vector(b, "b", min_size=1)
    xs = x[rng.integers(0, x.size, (n_resamples, x.size))]
    ys = y[rng.integers(0, y.size, (n_resamples, y.size))]
    replicates = np.sign(xs[:, :, None] - ys[:, None, :]).mean(axis=(1, 2)) / 2 + 0.5
    alpha = 1 - confidence_level
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    return Interval(
        probability_of_improvement(x, y), float(low), float(high), "bootstrap-percentile", confidence_level, x.size + y.size
    )


__all__ = ["cliffs_delta", "cohens_dz", "hedges_g", "probability_of_improvement", "probability_of_improvement_ci"]
