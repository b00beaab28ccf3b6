r"""Anytime-valid confidence sequences for the mean paired difference, and the decision they allow.

A fixed-n interval (Student t, bootstrap) holds its level only at one sample size fixed in
advance; adding seeds until it excludes 0 and looking after each one inflates the type-I error
(``analyses/sequential_validity.py`` measures by how much). A *confidence sequence*
:math:`(C_t)_{t \ge 1}` holds its level uniformly over time,
:math:`P(\exists t: \mu \notin C_t) \le \alpha`, so it may be inspected after every seed and the
batch stopped whenever it decides.

Differences of scores in :math:`[0, 1]` (accuracy, F1, kept fractions) lie in :math:`[-1, 1]`.
They are mapped to :math:`Y = (D - a)/(b - a) \in [0, 1]` for declared bounds :math:`[a, b]`
(default :math:`[-1, 1]`), the sequence is built for :math:`E[Y]`, and mapped back.

Two constructions of Waudby-Smith & Ramdas (JRSS-B 2024), both with the paper's predictable
plug-in bets :math:`\dot\lambda_t = \sqrt{2\log(2/\alpha) / (\hat\sigma^2_{t-1}\, t \log(1+t))}`,
:math:`\hat\mu_t = (1/2 + \sum_{i\le t} Y_i)/(t+1)`,
:math:`\hat\sigma^2_t = (1/4 + \sum_{i\le t}(Y_i - \hat\mu_i)^2)/(t+1)`
(:math:`\hat\mu_0 = 1/2`, :math:`\hat\sigma^2_0 = 1/4`):

* ``"hedged"`` (default): the hedged-capital sequence of their Section 4.2 (Theorem 3),
  :math:`C_t = \{m : \max(\theta K^+_t(m), (1-\theta) K^-_t(m)) < 1/\alpha\}` with
  :math:`K^\pm_t(m) = \prod_{i\le t} (1 \pm \lambda^\pm_i(m)(Y_i - m))`,
  :math:`\lambda^+_i(m) = \min(\dot\lambda_i, c/m)`, :math:`\lambda^-_i(m) = \min(\dot\lambda_i, c/(1-m))`,
  :math:`\theta = 1/2`, :math:`c = 1/2` (the paper's suggestion, also confseq's ``trunc_scale``).
  :math:`K^+_t` falls and :math:`K^-_t` rises in :math:`m`, so :math:`C_t` is an interval whose two
  ends are found by bisection (no grid).
* ``"plugin"``: the predictable plug-in empirical-Bernstein sequence (PrPl-EB, their
  Theorem 2): :math:`\frac{\sum \lambda_i Y_i}{\sum \lambda_i} \pm
  \frac{\log(2/\alpha) + \sum v_i \psi_E(\lambda_i)}{\sum \lambda_i}`,
  :math:`\lambda_i = \min(\dot\lambda_i, c)`, :math:`v_i = 4 (Y_i - \hat\mu_{i-1})^2`,
  :math:`\psi_E(\lambda) = (-\log(1-\lambda) - \lambda)/4`. Closed form; wider than ``hedged``.

Both are intersected over time (:math:`\bigcap_{s \le t} C_s` is again a confidence
sequence, their Section 3), so a decision once reached stays. The e-value for "no
difference" is :math:`E_t = \theta K^+_t(m_0) + (1-\theta) K^-_t(m_0)` at the mapped zero
:math:`m_0` (a non-negative supermartingale under the null, so :math:`P(\sup_t E_t \ge 1/\alpha) \le
\alpha` by Ville's inequality); the anytime p-value is :math:`\min(1, 1/\max_{s \le t} E_s)`.

The decision of a comparison after :math:`t` seeds uses the words of
:func:`~spcl_diag.stats.comparison.compare`: better / worse (the sequence excludes 0 on that side,
by the metric's direction), equivalent (it lies inside :math:`\pm` rope), undecided otherwise.

References
----------
.. [1] Waudby-Smith, I. & Ramdas, A. (2024), Estimating means of bounded random variables by
   betting. JRSS-B 86(1), 1-27. arXiv:2010.09686. Reference code: confseq
   (github.com/gostevehoward/confseq, ``betting.hedged_cs``, ``predmix.predmix_empbern_cs``).
.. [2] Ville, J. (1939), Etude critique de la notion de collectif.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from spcl_diag.stats.verdict import direction_word

SequenceMethod = Literal["hedged", "plugin"]
SEQUENCE_METHODS: tuple[str, ...] = ("hedged", "plugin")
#: Bounds of a difference of two scores in [0, 1] (accuracy, F1, kept fraction).
SCORE_DIFFERENCE_BOUNDS: tuple[float, float] = (-1.0, 1.0)
#: Bet truncation c of Waudby-Smith & Ramdas (2024), Section 4.2 (they suggest 1/2 or 3/4).
TRUNCATION = 0.5
#: Weight theta of the positive capital process, Theorem 3 of Waudby-Smith & Ramdas (2024).
THETA = 0.5
_BISECTIONS = 45  # halves [0, 1] to below 3e-14
DECISION_CODES: dict[int, str] = {1: "above 0", -1: "below 0", 2: "equivalent", 0: "undecided"}


@dataclass(frozen=True)
class ConfidenceSequence:
    """A confidence sequence of the mean difference, one entry per look (seed).

    Arrays have shape ``[..., T]``: the last axis is the look after 1, 2, ..., T seeds.
    """

    n: NDArray[np.int64]  # [T] seeds seen at each look
    estimate: NDArray[np.float64]  # running mean difference
    low: NDArray[np.float64]  # ends of the (running-intersection) sequence, in the difference's units
    high: NDArray[np.float64]
    e_value: NDArray[np.float64]  # e-process for "no difference" at each look
    method: str
    alpha: float
    bounds: tuple[float, float]

    @property
    def p_anytime(self) -> NDArray[np.float64]:
        """Anytime-valid p-value for "no difference": ``min(1, 1 / running max of e_value)``."""
        return np.minimum(1.0, 1.0 / np.maximum.accumulate(self.e_value, axis=-1))

    def codes(self, *, rope: float = 0.0) -> NDArray[np.int64]:
        """Decision code at each look (see :func:`decision_codes`)."""
        return decision_codes(self.low, self.high, rope=rope)

    def decision(self, *, rope: float = 0.0, higher_is_better: bool | None = True) -> str:
        """The decision after the last look of a single sequence (see :func:`decision_word`)."""
        if self.low.ndim != 1:
            raise ValueError(f"decision() needs a single sequence; this one has shape {self.low.shape}.")
        return decision_word(int(self.codes(rope=rope)[-1]), higher_is_better=higher_is_better)


def decision_codes(low: ArrayLike, high: ArrayLike, *, rope: float = 0.0) -> NDArray[np.int64]:
    """1 where the interval lies above 0, -1 below 0, 2 inside ``(-rope, rope)``, else 0.

    With ``rope=0`` nothing is equivalent. An interval above 0 but inside the rope counts as
    above 0 (its sign is established).
    """
    lo, hi = np.asarray(low, float), np.asarray(high, float)
    codes = np.where(lo > 0, 1, np.where(hi < 0, -1, 0))
    if rope > 0:
        codes = np.where((codes == 0) & (lo > -rope) & (hi < rope), 2, codes)
    return codes.astype(np.int64)


def decision_word(code: int, *, higher_is_better: bool | None = True) -> str:
    """``better``/``worse`` (``higher``/``lower`` for a metric with no better side), ``equivalent``, ``undecided``."""
    if code in (1, -1):
        return direction_word(float(code), higher_is_better)
    return DECISION_CODES[code]


def check_rope(rope: float) -> float:
    """``rope`` as a float >= 0, or a ValueError."""
    value = float(rope)
    if not value >= 0 or not np.isfinite(value):
        raise ValueError(f"rope must be a finite number >= 0 (the metric's units, 0.01 = one point of F1); got {rope}.")
    return value


def confidence_sequence(
    differences: ArrayLike,
    *,
    alpha: float = 0.05,
    method: SequenceMethod = "hedged",
    bounds: tuple[float, float] = SCORE_DIFFERENCE_BOUNDS,
    truncation: float = TRUNCATION,
    null: float = 0.0,
) -> ConfidenceSequence:
    r"""Anytime-valid :math:`(1-\alpha)` confidence sequence of the mean of ``differences``.

    Parameters
    ----------
    differences
        ``[T]`` paired differences (arm - baseline) in the order the seeds were run, or
        ``[R, T]`` for R independent sequences at once (simulation). The order must not
        depend on the scores.
    alpha
        Error probability over the whole sequence, in (0, 1).
    method
        ``"hedged"`` (hedged capital, Theorem 3 of [1]_) or ``"plugin"`` (PrPl-EB, Theorem 2).
    bounds
        ``(a, b)`` that every difference lies in, declared before seeing the data. The default
        ``(-1, 1)`` holds for any difference of scores in [0, 1]; tighter declared bounds give a
        much narrower sequence but are an assumption, and a difference outside them is an error.
    truncation
        The bet truncation :math:`c \in (0, 1)` (1/2 in [1]_).
    null
        The difference tested by ``e_value`` (0: no difference).

    Returns
    -------
    ConfidenceSequence
        Running mean, running-intersection ends ``low``/``high`` and ``e_value`` per look.

    Notes
    -----
    See the module docstring for the formulas.

    References
    ----------
    .. [1] Waudby-Smith, I. & Ramdas, A. (2024), JRSS-B 86(1), 1-27.

    Examples
    --------
    Sixteen differences near +0.38 decide only with declared bounds tighter than [-1, 1]:

    >>> d = [0.3, 0.4, 0.35, 0.3, 0.45, 0.4, 0.38, 0.42] * 2
    >>> confidence_sequence(d).decision(), confidence_sequence(d, bounds=(-0.5, 0.5)).decision()
    ('undecided', 'better')
    >>> cs = confidence_sequence(d, bounds=(-0.5, 0.5))
    >>> int((cs.low > 0).argmax()) + 1, round(float(cs.low[-1]), 3)  # first look that decides; last lower end
    (12, 0.076)
    """
    d = np.asarray(differences, dtype=np.float64)
    if d.ndim not in (1, 2) or d.shape[-1] < 1:
        raise ValueError(f"differences must be [T] or [R, T] with T >= 1; got shape {d.shape}.")
    if not np.isfinite(d).all():
        raise ValueError("differences contain nan or inf; drop the seeds without a score first.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha}.")
    if method not in SEQUENCE_METHODS:
        raise ValueError(f"method must be one of {', '.join(SEQUENCE_METHODS)}; got {method!r}.")
    lo_b, hi_b = (float(b) for b in bounds)
    if not lo_b < hi_b:
        raise ValueError(f"bounds must be (a, b) with a < b; got {bounds}.")
    if not 0 < truncation < 1:
        raise ValueError(f"truncation must lie in (0, 1); got {truncation}.")
    outside = (d < lo_b) | (d > hi_b)
    if outside.any():
        where = np.argwhere(outside)[0]
        raise ValueError(
            f"confidence_sequence: difference {d[tuple(where)]:.6g} at position {tuple(int(i) for i in where)} lies "
            f"outside the declared bounds [{lo_b:g}, {hi_b:g}]; the sequence is valid only for bounded differences."
        )
    if not lo_b <= null <= hi_b:
        raise ValueError(f"null must lie inside bounds [{lo_b:g}, {hi_b:g}]; got {null}.")
    width = hi_b - lo_b
    y = (d - lo_b) / width
    lam_dot = plugin_bets(y, alpha=alpha)
    m0 = (null - lo_b) / width
    if method == "hedged":
        low_y, high_y = _hedged_ends(y, lam_dot, alpha=alpha, truncation=truncation)
        log_plus = _log_capital(y, lam_dot, np.full(y.shape, m0), +1, truncation)
        log_minus = _log_capital(y, lam_dot, np.full(y.shape, m0), -1, truncation)
    else:
        low_y, high_y, log_plus, log_minus = _plugin_ends(y, np.minimum(lam_dot, truncation), alpha=alpha, m0=m0)
    low = lo_b + width * np.maximum.accumulate(np.clip(low_y, 0, 1), axis=-1)
    high = lo_b + width * np.minimum.accumulate(np.clip(high_y, 0, 1), axis=-1)
    e_value = THETA * np.exp(log_plus) + (1 - THETA) * np.exp(log_minus)
    t = np.arange(1, d.shape[-1] + 1)
    estimate = np.cumsum(d, axis=-1) / t
    return ConfidenceSequence(t, estimate, low, high, e_value, method, float(alpha), (lo_b, hi_b))


def plugin_bets(y: NDArray[np.float64], *, alpha: float) -> NDArray[np.float64]:
    r"""The predictable plug-in bets :math:`\dot\lambda_t` of [1]_ for ``y`` in [0, 1] (last axis: time).

    :math:`\dot\lambda_t = \sqrt{2\log(2/\alpha) / (\hat\sigma^2_{t-1} t \log(1+t))}` with the
    regularised running mean and variance of the module docstring; :math:`\dot\lambda_t` uses
    :math:`Y_1, \dots, Y_{t-1}` only (predictable).
    """
    t = np.arange(1, y.shape[-1] + 1, dtype=np.float64)
    mu = (0.5 + np.cumsum(y, axis=-1)) / (t + 1)
    sigma2 = (0.25 + np.cumsum((y - mu) ** 2, axis=-1)) / (t + 1)
    sigma2_prev = np.concatenate([np.full(y.shape[:-1] + (1,), 0.25), sigma2[..., :-1]], axis=-1)
    return np.sqrt(2 * np.log(2 / alpha) / (sigma2_prev * t * np.log1p(t)))


def _log_capital(y: NDArray, lam_dot: NDArray, m: NDArray, sign: int, truncation: float) -> NDArray:
    """:math:`\\log K^\\pm_t(m_t)` for each look t, at a candidate mean ``m[..., t]`` per look."""
    mt = m[..., :, None]  # [..., t, 1] candidate of look t; the product runs over i <= t
    cap = truncation / np.maximum(mt if sign > 0 else 1 - mt, 1e-300)
    lam = np.minimum(lam_dot[..., None, :], cap)  # [..., t, i]
    terms = np.log1p(sign * lam * (y[..., None, :] - mt))
    upto = np.tril(np.ones((y.shape[-1], y.shape[-1]), dtype=bool))
    return np.where(upto, terms, 0.0).sum(axis=-1)


def _hedged_ends(y: NDArray, lam_dot: NDArray, *, alpha: float, truncation: float) -> tuple[NDArray, NDArray]:
    """Ends of :math:`\\{m: \\max(\\theta K^+_t, (1-\\theta) K^-_t) < 1/\\alpha\\}` by bisection per look."""
    ends = []
    for sign, weight in ((+1, THETA), (-1, 1 - THETA)):
        threshold = np.log(1 / alpha) - np.log(weight)
        # sign +1: K+ falls in m, the lower end is where it crosses; sign -1: K- rises, the upper end.
        inside, outside = (np.ones(y.shape), np.zeros(y.shape)) if sign > 0 else (np.zeros(y.shape), np.ones(y.shape))
        for _ in range(_BISECTIONS):
            mid = (inside + outside) / 2
            rejected = _log_capital(y, lam_dot, mid, sign, truncation) >= threshold
            outside = np.where(rejected, mid, outside)
            inside = np.where(rejected, inside, mid)
        ends.append(outside)
    return ends[0], ends[1]


def _plugin_ends(y: NDArray, lam: NDArray, *, alpha: float, m0: float) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """PrPl-EB ends (Theorem 2 of [1]) and the log of its two one-sided supermartingales at ``m0``."""
    t = np.arange(1, y.shape[-1] + 1)
    mu = (0.5 + np.cumsum(y, axis=-1)) / (t + 1)
    mu_prev = np.concatenate([np.full(y.shape[:-1] + (1,), 0.5), mu[..., :-1]], axis=-1)
    penalty = np.cumsum(4 * (y - mu_prev) ** 2 * (-np.log1p(-lam) - lam) / 4, axis=-1)
    weights = np.cumsum(lam, axis=-1)
    centre = np.cumsum(lam * y, axis=-1) / weights
    margin = (np.log(2 / alpha) + penalty) / weights
    drift = np.cumsum(lam * (y - m0), axis=-1)
    # each side at alpha/2 (union bound); exp(+-drift - penalty) are its supermartingales
    return centre - margin, centre + margin, drift - penalty, -drift - penalty




#: The columns ``compare(..., sequential=True)`` adds.
SEQUENTIAL_COLUMNS: tuple[str, ...] = ("cs_low", "cs_high", "cs_e_value", "cs_decision")
SEQUENTIAL_NOTE = ("cs_low/cs_high: anytime-valid confidence sequence (Waudby-Smith & Ramdas 2024), valid however "
                   "often the seeds were looked at and whenever the seeding stopped; diff_low/diff_high: fixed-n "
                   "interval, valid only when the number of seeds was fixed before looking")


def sequential_columns(arm_values: pd.Series, base_values: pd.Series, *, alpha: float,
                       higher_is_better: bool | None, rope: float = 0.0,
                       bounds: tuple[float, float] = SCORE_DIFFERENCE_BOUNDS) -> dict[str, Any]:
    """:data:`SEQUENTIAL_COLUMNS` of one compare() row: the sequence over the paired seeds in ascending order."""
    seeds = sorted(set(arm_values.index) & set(base_values.index))
    if not seeds:
        return {"cs_low": np.nan, "cs_high": np.nan, "cs_e_value": np.nan, "cs_decision": "no paired seeds"}
    d = arm_values.loc[seeds].to_numpy(float) - base_values.loc[seeds].to_numpy(float)
    cs = confidence_sequence(d, alpha=alpha, bounds=bounds)
    return {"cs_low": float(cs.low[-1]), "cs_high": float(cs.high[-1]), "cs_e_value": float(cs.e_value[-1]),
            "cs_decision": cs.decision(rope=rope, higher_is_better=higher_is_better)}


__all__ = [
    "SCORE_DIFFERENCE_BOUNDS",
    "SEQUENCE_METHODS",
    "SEQUENTIAL_COLUMNS",
    "ConfidenceSequence",
    "check_rope",
    "confidence_sequence",
    "decision_codes",
    "decision_word",
    "plugin_bets",
    "sequential_columns",
]
