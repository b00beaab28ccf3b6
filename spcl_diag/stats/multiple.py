"""Corrections for multiple comparisons over a declared family (statsmodels ``multipletests``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from statsmodels.stats.multitest import multipletests

Correction = Literal["holm", "bh", "bonferroni", "none"]
CORRECTIONS: dict[str, str] = {"holm": "holm", "bh": "fdr_bh", "bonferroni": "bonferroni", "none": ""}


@dataclass(frozen=True)
class MultipleTestResult:
    """Adjusted p-values of one family.

    Attributes
    ----------
    pvalues_adjusted
        ``[k]`` adjusted p-values (``nan`` where the raw p-value was ``nan``).
    reject
        ``[k]`` adjusted p-value < ``alpha``.
    method
        The correction.
    n_comparisons
        Family size: the number of finite raw p-values.
    """

    pvalues_adjusted: NDArray[np.float64]
    reject: NDArray[np.bool_]
    method: str
    n_comparisons: int


def _check_correction(method: str) -> None:
    if method not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}; got {method!r}.")


def adjust_pvalues(pvalues: ArrayLike, *, method: Correction = "holm", alpha: float = 0.05) -> MultipleTestResult:
    r"""Adjust the p-values of a declared family for multiple comparisons.

    Parameters
    ----------
    pvalues
        ``[k]`` raw p-values of every comparison in the family; ``nan`` entries (tests that
        could not run) are left out of the family and stay ``nan``.
    method
        ``"holm"`` (family-wise error, Holm 1979), ``"bh"`` (false discovery rate,
        Benjamini & Hochberg 1995), ``"bonferroni"`` or ``"none"``.
    alpha
        Level for ``reject``.

    Returns
    -------
    MultipleTestResult

    Notes
    -----
    With sorted :math:`p_{(1)} \le \dots \le p_{(k)}`:

    .. math::

        \text{Holm: } \tilde p_{(i)} = \max_{j \le i} \min(1, (k - j + 1)\,p_{(j)}), \qquad
        \text{BH: } \tilde p_{(i)} = \min_{j \ge i} \min(1, k\,p_{(j)} / j).

    Computed by :func:`statsmodels.stats.multitest.multipletests` (``holm``, ``fdr_bh``).

    References
    ----------
    .. [1] Holm, S. (1979), A simple sequentially rejective multiple test procedure.
       Scand. J. Stat. 6(2).
    .. [2] Benjamini, Y. & Hochberg, Y. (1995), Controlling the false discovery rate.
       JRSS-B 57(1).

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03, float("nan")], method="holm").pvalues_adjusted
    array([0.03, 0.06, 0.06,  nan])
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="bh").pvalues_adjusted
    array([0.03, 0.04, 0.04])
    """
    _check_correction(method)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha}.")
    raw = np.asarray(pvalues, dtype=np.float64)
    if raw.ndim != 1:
        raise ValueError(f"pvalues must be one-dimensional; got shape {raw.shape}.")
    finite = np.isfinite(raw)
    if np.any((raw[finite] < 0) | (raw[finite] > 1)):
        raise ValueError(f"pvalues must lie in [0, 1]; got {raw[finite][(raw[finite] < 0) | (raw[finite] > 1)].tolist()}.")
    adjusted = np.full_like(raw, np.nan)
    k = int(finite.sum())
    if k:
        adjusted[finite] = raw[finite] if method == "none" else multipletests(raw[finite], alpha=alpha, method=CORRECTIONS[method])[1]
    return MultipleTestResult(adjusted, np.where(finite, adjusted < alpha, False), method, k)


def min_adjusted_pvalue(min_pvalue: float, n_comparisons: int, *, method: Correction = "holm") -> float:
    r"""Smallest adjusted p-value one comparison can reach in a family of ``n_comparisons``.

    Parameters
    ----------
    min_pvalue
        The smallest raw p-value the test can produce (see
        :func:`~spcl_diag.stats.paired_tests.min_attainable_pvalue`).
    n_comparisons
        Family size :math:`k`.
    method
        The correction.

    Returns
    -------
    float
        Holm and Bonferroni: :math:`\min(1, k\,p_{\min})` (the smallest raw p-value is
        multiplied by :math:`k`); BH and none: :math:`p_{\min}` (reached when every test in
        the family is at its minimum).

    Examples
    --------
    >>> min_adjusted_pvalue(0.03125, 4, method="holm"), min_adjusted_pvalue(0.03125, 4, method="bh")
    (0.125, 0.03125)
    """
    _check_correction(method)
    if method in ("holm", "bonferroni"):
        return min(1.0, max(1, n_comparisons) * min_pvalue)
    return min_pvalue


__all__ = ["CORRECTIONS", "MultipleTestResult", "adjust_pvalues", "min_adjusted_pvalue"]
