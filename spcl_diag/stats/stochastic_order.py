r"""Almost Stochastic Order (ASO): how far score distribution A is from dominating B.

Written from del Barrio, Cuesta-Albertos & Matrán (2018) and Dror, Shlomov & Reichart
(2019). With the quantile functions :math:`F^{-1}` of A and :math:`G^{-1}` of B, the
*violation ratio* is the share of the squared Wasserstein-2 distance that lies where A is
below B:

.. math::

    \varepsilon_W(F, G) = \frac{\int_{V} (F^{-1}(t) - G^{-1}(t))^2\,dt}
                               {\int_0^1 (F^{-1}(t) - G^{-1}(t))^2\,dt},
    \qquad V = \{t \in (0, 1) : F^{-1}(t) < G^{-1}(t)\}.

:math:`\varepsilon_W = 0` is first-order stochastic dominance of A over B, 0.5 means
neither is ahead, and :math:`\varepsilon_W(F, G) + \varepsilon_W(G, F) = 1`.

Dror et al. test :math:`H_0: \varepsilon_W(F, G) \ge \varepsilon` against
:math:`H_1: \varepsilon_W < \varepsilon` and reject when
:math:`\sqrt{nm/(n+m)}\,(\varepsilon_W(F_n, G_m) - \varepsilon) < \hat\sigma_{n,m}\Phi^{-1}(\alpha)`.
The smallest :math:`\varepsilon` for which :math:`H_0` is rejected at level :math:`\alpha` is

.. math::

    \varepsilon_{\min} = \varepsilon_W(F_n, G_m)
        - \sqrt{\tfrac{n+m}{nm}}\;\hat\sigma_{n,m}\,\Phi^{-1}(\alpha),

an upper confidence bound of level :math:`1-\alpha` on :math:`\varepsilon_W`.
:math:`\hat\sigma_{n,m}` is the bootstrap standard deviation of
:math:`\sqrt{nm/(n+m)}\,(\varepsilon_W(F^*_n, G^*_m) - \varepsilon_W(F_n, G_m))`, where
:math:`F^*_n, G^*_m` are empirical CDFs of :math:`n` and :math:`m` values drawn with
replacement from each sample. The factors :math:`\sqrt{nm/(n+m)}` cancel, so
:math:`\varepsilon_{\min} = \hat\varepsilon + z_{1-\alpha}\,\mathrm{sd}(\varepsilon^*)`,
clipped to [0, 1]. A rule of thumb from Dror et al.: A is better than B when
:math:`\varepsilon_{\min} < 0.5`; smaller is more decisive.

Implementation choices (documented deviations from the reference code of the papers):

* The integrals are computed exactly, not on a grid of :math:`M` points: empirical
  quantile functions are step functions :math:`F_n^{-1}(t) = x_{(\lceil nt \rceil)}`, constant
  between the merged breakpoints :math:`\{k/n\} \cup \{l/m\}`, so each integral is a finite
  sum over at most :math:`n+m-1` pieces. Bootstrap samples keep the sizes :math:`n` and
  :math:`m`, so the pieces are shared by every resample and the computation is vectorised.
* Resamples where the two bootstrap samples have identical quantile functions (0/0) are
  left out of :math:`\mathrm{sd}(\varepsilon^*)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from spcl_diag.stats._common import (
    as_vector,
    check_confidence_level,
    check_positive_int,
    check_rng,
    degenerate,
    fill_doc,
)


@dataclass(frozen=True)
class ASOResult:
    """Almost stochastic order of A over B.

    Attributes
    ----------
    epsilon_min
        Upper confidence bound on the violation ratio; < 0.5 reads "A is almost
        stochastically better than B", 0 is dominance.
    estimate
        The empirical violation ratio :math:`\\varepsilon_W(F_n, G_m)`.
    confidence_level
        :math:`1 - \\alpha` of the bound.
    n_a, n_b
        Sample sizes.
    method
        ``"aso-bootstrap"``.
    """

    epsilon_min: float
    estimate: float
    confidence_level: float
    n_a: int
    n_b: int
    method: str = "aso-bootstrap"


def _pieces(n: int, m: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Order-statistic index of A and B on each constant piece of (0, 1), and its width."""
    breaks = np.unique(np.concatenate([np.arange(n + 1) / n, np.arange(m + 1) / m]))
    middle = (breaks[:-1] + breaks[1:]) / 2  # never a breakpoint, so floor(n t) = ceil(n t) - 1
    return np.floor(n * middle).astype(np.int64), np.floor(m * middle).astype(np.int64), np.diff(breaks)


def _violation_ratio(
    sorted_a: NDArray[np.float64], sorted_b: NDArray[np.float64], pieces: tuple[NDArray, NDArray, NDArray]
) -> NDArray[np.float64]:
    """:math:`\\varepsilon_W` of sorted samples ``[..., n]`` and ``[..., m]`` (nan when W2 = 0)."""
    ia, ib, width = pieces
    gap = sorted_a[..., ia] - sorted_b[..., ib]
    squared = width * gap**2
    total = squared.sum(axis=-1)
    violated = np.where(gap < 0, squared, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, violated / np.where(total > 0, total, 1.0), np.nan)


def violation_ratio(a: ArrayLike, b: ArrayLike) -> float:
    r"""Empirical violation ratio :math:`\varepsilon_W(F_n, G_m)` of A over B (module docs).

    Parameters
    ----------
    a, b
        ``[n]`` and ``[m]`` scores (e.g. one per seed), higher is better.

    Returns
    -------
    float
        In [0, 1]; ``nan`` with a :class:`RuntimeWarning` when the two empirical quantile
        functions coincide (identical samples), where it is 0/0.

    Examples
    --------
    >>> violation_ratio([1.0, 4.0], [2.0, 3.0]), round(violation_ratio([0.0, 1.0, 2.0], [1.0, 1.0]), 12)
    (0.5, 0.5)
    >>> violation_ratio([3.0, 5.0, 4.0], [1.0, 2.0])
    0.0
    """
    x, y = np.sort(as_vector(a, "a", min_size=1)), np.sort(as_vector(b, "b", min_size=1))
    value = float(_violation_ratio(x, y, _pieces(x.size, y.size)))
    if np.isnan(value):
        return degenerate("violation ratio: a and b have identical quantile functions (0/0); neither is ahead.")
    return value


@fill_doc
def aso(
    a: ArrayLike,
    b: ArrayLike,
    *,
    rng: np.random.Generator,
    confidence_level: float = 0.95,
    n_resamples: int = 1000,
) -> ASOResult:
    r"""Almost Stochastic Order :math:`\varepsilon_{\min}` of A over B (Dror et al. 2019).

    Parameters
    ----------
    a, b
        ``[n]`` and ``[m]`` scores of the candidate and of the baseline, higher is better
        (negate lower-is-better metrics). They need not be paired or of equal size.
    %(rng)s
    %(confidence_level)s
        This is :math:`1 - \alpha` of the module formula.
    %(n_resamples)s

    Returns
    -------
    ASOResult
        ``epsilon_min`` < 0.5: A is almost stochastically better than B at this level.

    Notes
    -----
    See the module docstring for the formula and the implementation choices. With 3-5
    seeds per arm the bound is wide; :math:`\varepsilon_{\min}(A, B) + \varepsilon_{\min}(B, A)
    \ge 1` always (both are upper bounds and the estimates sum to 1).
    %(degenerate)s

    References
    ----------
    .. [1] del Barrio, E., Cuesta-Albertos, J. A. & Matrán, C. (2018), An optimal
       transportation approach for assessing almost stochastic order. In The Mathematics
       of the Uncertain, Springer, 33-44.
    .. [2] Dror, R., Shlomov, S. & Reichart, R. (2019), Deep dominance - how to properly
       compare deep neural models. ACL, 2773-2785.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> better, worse = rng.normal(1.0, 1.0, 200), rng.normal(0.0, 1.0, 200)
    >>> res = aso(better, worse, rng=np.random.default_rng(1))
    >>> res.epsilon_min < 0.1, aso(worse, better, rng=np.random.default_rng(1)).epsilon_min > 0.9
    (True, True)
    """
    check_rng(rng)
    check_confidence_level(confidence_level)
    check_positive_int(n_resamples, "n_resamples", minimum=2)
    x, y = np.sort(as_vector(a, "a", min_size=1)), np.sort(as_vector(b, "b", min_size=1))
    n, m = x.size, y.size
    pieces = _pieces(n, m)
    estimate = float(_violation_ratio(x, y, pieces))
    if np.isnan(estimate):
        nan = degenerate("ASO: a and b have identical quantile functions (0/0); neither is ahead.")
        return ASOResult(nan, nan, confidence_level, n, m)
    boot_a = np.sort(x[rng.integers(0, n, (n_resamples, n))], axis=1)
    boot_b = np.sort(y[rng.integers(0, m, (n_resamples, m))], axis=1)
    replicates = _violation_ratio(boot_a, boot_b, pieces)
    replicates = replicates[np.isfinite(replicates)]
    if replicates.size < 2:
        nan = degenerate("ASO: fewer than 2 bootstrap resamples had a defined violation ratio.")
        return ASOResult(nan, estimate, confidence_level, n, m)
    bound = estimate + special.ndtri(confidence_level) * replicates.std(ddof=1)
    return ASOResult(float(np.clip(bound, 0.0, 1.0)), estimate, confidence_level, n, m)


__all__ = ["ASOResult", "aso", "violation_ratio"]
