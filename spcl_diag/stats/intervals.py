"""Interval results and the Student-t interval of a mean over seeds."""

from __future__ import annotations

import math
from dataclasses import dataclass

from numpy.typing import ArrayLike
from scipy import stats as sps

from spcl_diag.stats._common import as_vector, check_confidence_level, degenerate, fill_doc


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval.

    Attributes
    ----------
    estimate
        The statistic on the observed data.
    low, high
        The interval bounds (``nan`` when the input was degenerate).
    method
        How the interval was built, e.g. ``"student-t"``, ``"bootstrap-bca"``.
    confidence_level
        Nominal coverage.
    n
        Number of observations (seeds, runs, or dialogues for grouped resampling).
    """

    estimate: float
    low: float
    high: float
    method: str
    confidence_level: float
    n: int

    def contains(self, value: float) -> bool:
        """True when ``low <= value <= high``."""
        return bool(self.low <= value <= self.high)


@fill_doc
def t_interval(x: ArrayLike, *, confidence_level: float = 0.95) -> Interval:
    r"""Student-t confidence interval of the mean of ``x`` (e.g. one score per seed).

    Parameters
    ----------
    x
        ``[n]`` scores, ``n >= 2``.
    %(confidence_level)s

    Returns
    -------
    Interval
        ``estimate`` is the sample mean, ``method`` is ``"student-t"``.

    Notes
    -----
    .. math:: \bar x \pm t_{1-\alpha/2,\,n-1}\, s / \sqrt{n}, \qquad
              s^2 = \frac{1}{n-1}\sum_i (x_i - \bar x)^2, \quad \alpha = 1 - \text{level}.

    It assumes the per-seed scores are roughly normal; with 3-5 seeds it is wide, which is
    the honest answer.
    %(degenerate)s

    References
    ----------
    .. [1] Student (1908), The probable error of a mean. Biometrika 6(1).

    Examples
    --------
    >>> res = t_interval([0.61, 0.63, 0.62, 0.60, 0.64])
    >>> round(res.estimate, 3), round(res.low, 4), round(res.high, 4), res.method
    (0.62, 0.6004, 0.6396, 'student-t')
    """
    check_confidence_level(confidence_level)
    values = as_vector(x, "x", min_size=1)
    n, mean = values.size, float(values.mean())
    if n < 2:
        nan = degenerate(f"t_interval needs at least 2 values for a standard deviation; got {n}.")
        return Interval(mean, nan, nan, "student-t", confidence_level, n)
    half = sps.t.ppf(0.5 + confidence_level / 2, n - 1) * values.std(ddof=1) / math.sqrt(n)
    return Interval(mean, float(mean - half), float(mean + half), "student-t", confidence_level, n)


__all__ = ["Interval", "t_interval"]
