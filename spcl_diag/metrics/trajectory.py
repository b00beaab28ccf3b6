"""Summaries of an imbalance curve over epochs: area under it, first balanced epoch, final value.

A curve is one value per epoch, e.g. the disparity ratio of the strongest modality on the
training split (``epochs`` rows with ``metric == "disparity_ratio"``, maximum over the
modality scopes). Epochs are 1-based, as in the epochs table.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


def _curve(values: ArrayLike, epochs: ArrayLike | None) -> tuple[NDArray, NDArray]:
    y = np.asarray(values, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"values must be a 1-D curve (one value per epoch); got shape {y.shape}.")
    x = np.arange(1, len(y) + 1, dtype=np.float64) if epochs is None else np.asarray(epochs, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"epochs must match values; got {x.shape} epochs for {y.shape} values.")
    if np.any(np.diff(x) <= 0):
        raise ValueError(f"epochs must be strictly increasing; got {x.tolist()}.")
    return x, y


def area_under_curve(values: ArrayLike, *, epochs: ArrayLike | None = None) -> float:
    r"""Trapezoidal area under an imbalance curve over epochs.

    .. math:: \mathrm{AUC} = \sum_{e=1}^{E-1} \frac{(x_{e+1} - x_e)(y_e + y_{e+1})}{2}

    The area accumulates the imbalance over training: of two runs that end equally balanced,
    the one that was imbalanced for longer has the larger area. It is in units of the curve
    times epochs; divide by :math:`x_E - x_1` for the time-average. A NaN value makes the
    area NaN. With fewer than two points there is no area: NaN with a ``RuntimeWarning``.

    Parameters
    ----------
    values
        ``[E]`` value per epoch.
    epochs
        ``[E]`` strictly increasing epoch numbers; ``1..E`` when omitted.

    Examples
    --------
    >>> area_under_curve([3.0, 2.0, 1.0])
    4.0
    """
    x, y = _curve(values, epochs)
    if len(y) < 2:
        warnings.warn("the area under a curve needs at least two epochs; returning NaN.", RuntimeWarning, stacklevel=2)
        return float("nan")
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def first_balanced_epoch(values: ArrayLike, *, threshold: float, epochs: ArrayLike | None = None) -> float:
    r"""First epoch at which the imbalance curve is at or below ``threshold``; NaN if never.

    .. math:: e^\ast = \min\{x_e : y_e \le \tau\}

    For the disparity ratio (:math:`\rho \ge 1`, 1 = balanced) a threshold slightly above
    one, e.g. :math:`\tau = 1.1`, asks when the strongest modality's confidence first came
    within 10% of the weakest's. NaN values never count as balanced. A curve that never
    reaches the threshold returns NaN (a valid answer, so without a warning).

    Parameters
    ----------
    values
        ``[E]`` value per epoch.
    threshold
        :math:`\tau`, in the units of the curve.
    epochs
        ``[E]`` strictly increasing epoch numbers; ``1..E`` when omitted.

    Examples
    --------
    >>> first_balanced_epoch([1.8, 1.3, 1.05, 1.2], threshold=1.1)
    3.0
    >>> first_balanced_epoch([1.8, 1.3], threshold=1.1)
    nan
    """
    x, y = _curve(values, epochs)
    hits = np.flatnonzero(y <= threshold)
    return float(x[hits[0]]) if len(hits) else float("nan")


def final_value(values: ArrayLike) -> float:
    """Last value of the curve (NaN for an empty curve, with a ``RuntimeWarning``).

    Examples
    --------
    >>> final_value([1.8, 1.3, 1.05])
    1.05
    """
    _, y = _curve(values, None)
    if not len(y):
        warnings.warn("an empty curve has no final value; returning NaN.", RuntimeWarning, stacklevel=2)
        return float("nan")
    return float(y[-1])


@dataclass(frozen=True)
class TrajectorySummary:
    """The three summaries of one imbalance curve."""

    auc: float  # trapezoidal area under the curve, curve units x epochs
    first_balanced_epoch: float  # first epoch with value <= threshold; NaN if never
    final: float  # value at the last epoch
    threshold: float  # the threshold used for first_balanced_epoch


def summarise_trajectory(
    values: ArrayLike, *, threshold: float, epochs: ArrayLike | None = None
) -> TrajectorySummary:
    """:func:`area_under_curve`, :func:`first_balanced_epoch` and :func:`final_value` of a curve.

    Parameters
    ----------
    values
        ``[E]`` value per epoch.
    threshold
        Balance threshold for :func:`first_balanced_epoch`.
    epochs
        ``[E]`` strictly increasing epoch numbers; ``1..E`` when omitted.

    Examples
    --------
    >>> summarise_trajectory([2.0, 1.5, 1.0], threshold=1.1)
    TrajectorySummary(auc=3.0, first_balanced_epoch=3.0, final=1.0, threshold=1.1)
    """
    return TrajectorySummary(
        auc=area_under_curve(values, epochs=epochs),
        first_balanced_epoch=first_balanced_epoch(values, threshold=threshold, epochs=epochs),
        final=final_value(values),
        threshold=float(threshold),
    )
