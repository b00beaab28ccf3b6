"""Corrections for multiple comparisons over a declared family.

Holm, Benjamini-Hochberg and Bonferroni are computed here, vectorised over the last axis
(statsmodels' ``multipletests`` gives the same numbers to 1e-12 but runs ``gc.collect()``
on every call, which dominated ``compare()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spcl_diag.stats._common import check_positive_int

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
        Family size: the number of finite raw p-values and of ``n_undefined`` members.
    """

    pvalues_adjusted: NDArray[np.float64]
    reject: NDArray[np.bool_]
    method: str
    n_comparisons: int


def _check_correction(method: str) -> None:
    if method not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}; got {method!r}.")


def adjust_pvalues(
    pvalues: ArrayLike, *, method: Correction = "holm", alpha: float = 0.05, n_undefined: int = 0
) -> MultipleTestResult:
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
    n_undefined
        Further members of the family whose test ran but has no p-value (the paired t test
        of a difference that is the same on every seed): each counts with :math:`p = 1`, so
        it enlarges the family without being rejected.

    Returns
    -------
    MultipleTestResult

    Notes
    -----
    With sorted :math:`p_{(1)} \le \dots \le p_{(k)}`:

    .. math::

        \text{Holm: } \tilde p_{(i)} = \max_{j \le i} \min(1, (k - j + 1)\,p_{(j)}), \qquad
        \text{BH: } \tilde p_{(i)} = \min_{j \ge i} \min(1, k\,p_{(j)} / j).

    Bonferroni: :math:`\tilde p_i = \min(1, k\,p_i)`. :math:`k` counts the finite p-values
    and ``n_undefined``. Equal to
    :func:`statsmodels.stats.multitest.multipletests` (``holm``, ``fdr_bh``, ``bonferroni``)
    to 1e-12.

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
    >>> adjust_pvalues([0.00245, float("nan")], n_undefined=1).pvalues_adjusted
    array([0.0049,    nan])
    """
    _check_correction(method)
    check_positive_int(n_undefined, "n_undefined", minimum=0)
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
        adjusted[finite] = _adjust(_padded(raw[finite], n_undefined), method)[..., :k]
    return MultipleTestResult(adjusted, np.where(finite, adjusted < alpha, False), method, k + n_undefined)


def _padded(p: NDArray[np.float64], n_undefined: int) -> NDArray[np.float64]:
    """``p`` with ``n_undefined`` members at p = 1 appended along the last axis (the stable sort keeps them last)."""
    return np.concatenate([p, np.ones((*p.shape[:-1], n_undefined))], axis=-1)


def _adjust(p: NDArray[np.float64], method: str) -> NDArray[np.float64]:
    """Adjusted p-values of families along the last axis of ``p`` (finite values)."""
    k = p.shape[-1]
    if method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, k * p)
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1)  # p_(1) <= ... <= p_(k)
    j = np.arange(1, k + 1)
    if method == "holm":
        steps = np.maximum.accumulate(np.minimum(1.0, (k - j + 1) * ranked), axis=-1)
    else:  # bh: running minimum from the largest p-value down
        steps = np.minimum.accumulate(np.minimum(1.0, k * ranked / j)[..., ::-1], axis=-1)[..., ::-1]
    out = np.empty_like(steps)
    np.put_along_axis(out, order, steps, axis=-1)
    return out


def attainable_adjusted_pvalues(
    pvalues: ArrayLike, min_pvalues: ArrayLike, *, method: Correction = "holm", n_undefined: int = 0
) -> NDArray[np.float64]:
    r"""Smallest adjusted p-value each comparison could reach, given the rest of the family.

    Parameters
    ----------
    pvalues
        ``[k]`` raw p-values of the family (``nan``: not tested, left out).
    min_pvalues
        ``[k]`` smallest raw p-value each test can produce
        (:func:`~spcl_diag.stats.paired_tests.min_attainable_pvalue`).
    method
        The correction.
    n_undefined
        Members without a p-value counted at p = 1, as in :func:`adjust_pvalues`.

    Returns
    -------
    numpy.ndarray
        ``[k]``: entry :math:`i` is the adjusted p-value of comparison :math:`i` when its raw
        p-value is replaced by its minimum and the others keep theirs, computed by the same
        step-down (step-up for BH) as :func:`adjust_pvalues`; ``nan`` where ``pvalues`` is.

    Notes
    -----
    Every correction here is non-decreasing in each raw p-value, so this is the smallest
    adjusted p-value the comparison can have with its seeds, and it never exceeds its
    actual adjusted p-value: a row is never both significant after correction and unable
    to reach significance.

    Examples
    --------
    >>> attainable_adjusted_pvalues([0.001, 0.03125, 0.002, 0.004], [0.0, 0.03125, 0.0, 0.0]).round(5).tolist()
    [0.0, 0.03125, 0.0, 0.0]
    """
    _check_correction(method)
    raw = np.asarray(pvalues, dtype=np.float64)
    floor = np.broadcast_to(np.asarray(min_pvalues, dtype=np.float64), raw.shape)
    out = np.full_like(raw, np.nan)
    finite = np.flatnonzero(np.isfinite(raw))
    if finite.size:
        family = np.tile(raw[finite], (finite.size, 1))  # row i: the family with p_i at its floor
        family[np.arange(finite.size), np.arange(finite.size)] = floor[finite]
        out[finite] = np.diagonal(_adjust(_padded(family, n_undefined), method)[:, : finite.size])
    return out


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

    Notes
    -----
    This is the level a comparison is sure to reach whatever the other p-values are
    (:math:`p_{\min} \le \alpha/k` for Holm), which is what a seed plan needs. Once the
    family's p-values are known, a comparison can reach less under Holm (it need not be the
    smallest); :func:`attainable_adjusted_pvalues` gives that figure.

    Examples
    --------
    >>> min_adjusted_pvalue(0.03125, 4, method="holm"), min_adjusted_pvalue(0.03125, 4, method="bh")
    (0.125, 0.03125)
    """
    _check_correction(method)
    if method in ("holm", "bonferroni"):
        return min(1.0, max(1, n_comparisons) * min_pvalue)
    return min_pvalue


__all__ = ["CORRECTIONS", "MultipleTestResult", "adjust_pvalues", "attainable_adjusted_pvalues", "min_adjusted_pvalue"]
