r"""Random-effects meta-analysis of an arm's gain over cells: one effect or many?

A study crosses datasets, backbones and modality sets. In cell :math:`i` the effect is the
mean paired difference :math:`y_i = \bar d_i` (arm - baseline over the seeds both finished)
with within-cell variance :math:`v_i = s_i^2 / n_i` (the squared standard error of the mean).
The random-effects model :math:`y_i = \mu + u_i + e_i`, :math:`u_i \sim N(0, \tau^2)`,
:math:`e_i \sim N(0, v_i)` pools them with weights :math:`w_i = 1/(v_i + \hat\tau^2)`
(statsmodels' :func:`~statsmodels.stats.meta_analysis.combine_effects`):

* :math:`\hat\tau^2` by DerSimonian-Laird (``"dl"``, the moment estimator
  :math:`\max(0, (Q - (k-1)) / (\sum w - \sum w^2/\sum w))`, fixed-effect weights) or
  Paule-Mandel (``"pm"``, statsmodels' ``"iterated"``: :math:`Q(\tau^2) = k - 1`); REML is not
  in ``combine_effects`` and Veroniki et al. (2016) recommend PM alongside it;
* Cochran's :math:`Q = \sum w^{FE}_i (y_i - \hat\mu_{FE})^2` with its :math:`\chi^2_{k-1}` p-value and
  :math:`I^2 = \max(0, (Q - (k-1))/Q)` (Higgins & Thompson 2002);
* the pooled :math:`\hat\mu` with its normal confidence interval
  :math:`\hat\mu \pm z_{1-\alpha/2}\,\mathrm{SE}(\hat\mu)`, and the prediction interval for the effect
  in a new cell :math:`\hat\mu \pm t_{k-2,1-\alpha/2}\sqrt{\hat\tau^2 + \mathrm{SE}(\hat\mu)^2}`
  (Higgins, Thompson & Spiegelhalter 2009; needs :math:`k \ge 3`);
* a mixed-effects meta-regression :math:`y_i = x_i^\top\beta + u_i + e_i` on cell moderators by
  statsmodels WLS with weights :math:`1/(v_i + \hat\tau^2_{res})`, the residual
  :math:`\hat\tau^2_{res} = \max(0, (Q_E - (k-p)) / (\operatorname{tr} W - \operatorname{tr}(W X (X^\top W X)^{-1} X^\top W)))`
  (the method-of-moments estimator of Raudenbush 2009, metafor's ``rma(method="DL", mods=)``)
  and the scale fixed at 1 (z tests);
* a leave-one-cell-out table: the pooled effect, its interval, :math:`\hat\tau^2` and :math:`I^2`
  without each cell.

``statsmodels`` 0.15 leaves a negative DerSimonian-Laird :math:`\tau^2` (and :math:`I^2`)
untruncated; here they are truncated at 0, where the random-effects estimate equals the
fixed-effect one, as the estimator is defined.

References
----------
.. [1] DerSimonian, R. & Laird, N. (1986), Meta-analysis in clinical trials. Controlled
   Clinical Trials 7, 177-188.
.. [2] Paule, R. C. & Mandel, J. (1982), Consensus values and weighting factors. J. Res. NBS 87.
.. [3] Higgins, J. P. T., Thompson, S. G. & Spiegelhalter, D. J. (2009), A re-evaluation of
   random-effects meta-analysis. JRSS-A 172, 137-159.
.. [4] Higgins, J. P. T. & Thompson, S. G. (2002), Quantifying heterogeneity in a
   meta-analysis. Statistics in Medicine 21, 1539-1558.
.. [5] Raudenbush, S. W. (2009), Analyzing effect sizes: random-effects models. In The
   Handbook of Research Synthesis and Meta-Analysis, 2nd ed.
.. [6] Veroniki, A. A. et al. (2016), Methods to estimate the between-study variance and
   its uncertainty in meta-analysis. Research Synthesis Methods 7, 55-79.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from spcl_diag.stats._common import check_confidence_level, tie_tolerance
from spcl_diag.stats.comparison import infer_higher_is_better, results_frame
from spcl_diag.stats.pairing import DEFAULT_CELLS, paired_differences
from spcl_diag.stats.verdict import direction_word

TauMethod = Literal["dl", "pm"]
TAU_METHODS: dict[str, str] = {"dl": "chi2", "pm": "iterated"}  # our name -> statsmodels' method_re


@dataclass(frozen=True)
class Pooled:
    """A random-effects pooled estimate over ``k`` cells."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    tau2: float
    i2: float
    q: float
    q_p: float
    k: int


@dataclass(frozen=True)
class MetaAnalysis:
    """The meta-analysis of one arm against the baseline over cells."""

    cells: pd.DataFrame  # one row per cell: the cell columns, n_seeds, diff, variance, se, ci_low, ci_high, weight
    pooled: Pooled
    prediction_low: float  # prediction interval for a new cell (nan with fewer than 3 cells)
    prediction_high: float
    leave_one_out: pd.DataFrame  # one row per left-out cell
    regression: pd.DataFrame | None  # moderator coefficients (term, coef, se, z, p, ci_low, ci_high) or None
    tau2_residual: float  # between-cell variance left after the moderators (nan without)
    metric: str
    arm: str
    baseline: str
    method: str
    confidence_level: float
    higher_is_better: bool | None
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line with the pooled effect, its interval, the prediction interval and heterogeneity."""
        p, level = self.pooled, f"{self.confidence_level:.0%}"
        if p.ci_low > 0 or p.ci_high < 0:
            word = direction_word(p.estimate, self.higher_is_better)
        else:
            word = "no pooled difference"
        pred = (f"; prediction interval for a new cell [{self.prediction_low:+.4f}, {self.prediction_high:+.4f}]"
                if np.isfinite(self.prediction_low) else "")
        return (f"{self.arm} - {self.baseline} on {self.metric} over {p.k} cells ({self.method}): "
                f"{p.estimate:+.4f} [{level} CI {p.ci_low:+.4f}, {p.ci_high:+.4f}] ({word}){pred}; "
                f"tau^2 {p.tau2:.3g}, I^2 {p.i2:.0%}, Q {p.q:.3g} (p={p.q_p:.3g})")


def pool(effects: Sequence[float], variances: Sequence[float], *, method: TauMethod = "dl",
         confidence_level: float = 0.95) -> Pooled:
    """Random-effects pooling of ``effects`` with within-cell ``variances`` (statsmodels' combine_effects).

    Examples
    --------
    >>> round(pool([0.1, 0.2, 0.3], [0.01, 0.01, 0.01]).estimate, 6)
    0.2
    """
    from statsmodels.stats.meta_analysis import combine_effects

    y, v = np.asarray(effects, float), np.asarray(variances, float)
    alpha = 1 - confidence_level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # its unused HKSJ variance takes sqrt of a negative tau^2
        res = combine_effects(y, v, method_re=TAU_METHODS[method], alpha=alpha)
    q, k = float(res.q), len(y)
    if res.tau2 > 0:
        estimate, se, tau2 = float(res.mean_effect_re), float(res.sd_eff_w_re), float(res.tau2)
    else:  # tau^2 truncated at 0: the random-effects estimate is the fixed-effect one
        estimate, se, tau2 = float(res.mean_effect_fe), float(res.sd_eff_w_fe), 0.0
    crit = stats.norm.isf(alpha / 2)
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    q_p = float(stats.chi2.sf(q, k - 1)) if k > 1 else float("nan")
    return Pooled(estimate, se, estimate - crit * se, estimate + crit * se, tau2, i2, q, q_p, k)


def meta_analysis(
    runs: Any,
    metric: str,
    baseline: str = "none",
    arm: str = "spcl",
    *,
    cells: Sequence[str] = DEFAULT_CELLS,
    moderators: Sequence[str] = (),
    method: TauMethod = "dl",
    confidence_level: float = 0.95,
    higher_is_better: bool | None = None,
    arm_column: str = "curriculum",
    pair_on: str = "seed",
) -> MetaAnalysis:
    r"""Pool ``arm`` - ``baseline`` on ``metric`` over cells with a random-effects model.

    Parameters
    ----------
    runs
        :class:`~spcl_diag.runs.loading.RunTables`, a results frame, a folder of runs or a
        ``.csv`` of results (as :func:`~spcl_diag.stats.comparison.compare`).
    metric
        Column to compare (``test_wf1``).
    baseline, arm
        The two values of ``arm_column``.
    cells
        Columns that define a cell (one study of the meta-analysis).
    moderators
        Cell-level moderators of the meta-regression: cell columns (categorical, dummy-coded
        against the first level) or numeric result columns, averaged over the cell's
        ``baseline`` runs (``test_acc_t``: how strong text already is without the arm).
    method
        :math:`\tau^2` estimator: ``"dl"`` (DerSimonian-Laird, default) or ``"pm"`` (Paule-Mandel).
    confidence_level
        Coverage of every interval.
    higher_is_better
        Direction of the metric (``None``: its declared direction) for the words only.
    arm_column, pair_on
        Column naming the arms; column pairing runs (``seed``).

    Returns
    -------
    MetaAnalysis

    Raises
    ------
    ValueError
        Fewer than 2 usable cells, a mix of tuning and evaluation seeds, a missing column.

    Notes
    -----
    Cells with fewer than 2 paired seeds, or whose difference is the same on every seed
    (variance 0, an infinite weight), are left out and named in ``notes``. The pooled
    effect is an average over cells; it means something only if the cells are exchangeable
    (docs/statistics.md).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rows = [{"dataset": d, "backbone": "late_fusion", "modalities": "tav", "curriculum": arm, "seed": s,
    ...          "test_wf1": 0.6 + (0.02 if arm == "spcl" else 0) + rng.normal(0, 0.01)}
    ...         for d in ("a", "b", "c", "e") for arm in ("none", "spcl") for s in range(5)]
    >>> result = meta_analysis(pd.DataFrame(rows), "test_wf1")
    >>> result.pooled.k, bool(result.pooled.ci_low > 0)
    (4, True)
    """
    if method not in TAU_METHODS:
        raise ValueError(f"method must be one of {', '.join(TAU_METHODS)}; got {method!r}.")
    check_confidence_level(confidence_level)
    frame = results_frame(runs)
    diffs = paired_differences(frame, metric, baseline=baseline, arm=arm, cells=cells, arm_column=arm_column,
                               pair_on=pair_on, caller="meta_analysis")
    rows, notes = [], []
    for key, d in diffs.items():
        name = "/".join(map(str, key))
        n = len(d)
        variance = float(d.var(ddof=1)) / n if n > 1 else float("nan")
        if n < 2:
            notes.append(f"cell {name} left out: {n} paired seed (needs 2 for a variance)")
        elif float(np.ptp(d.to_numpy())) <= tie_tolerance(d.to_numpy(), d.to_numpy()):
            notes.append(f"cell {name} left out: the difference is {d.iloc[0]:+.4g} on all {n} seeds (variance 0)")
        else:
            rows.append({**dict(zip(cells, key)), "n_seeds": n, "diff": float(d.mean()), "variance": variance})
    if len(rows) < 2:
        raise ValueError(f"meta_analysis: {len(rows)} usable cell(s) of {arm} against {baseline} on {metric}; "
                         f"pooling needs at least 2.{(' ' + '; '.join(notes)) if notes else ''}")
    table = pd.DataFrame(rows)
    pooled = pool(table["diff"], table["variance"], method=method, confidence_level=confidence_level)
    crit = stats.norm.isf((1 - confidence_level) / 2)
    se = np.sqrt(table["variance"])
    weights = 1 / (table["variance"] + pooled.tau2)
    table = table.assign(se=se, ci_low=table["diff"] - crit * se, ci_high=table["diff"] + crit * se,
                         weight=weights / weights.sum())
    k = pooled.k
    if k >= 3:
        half = stats.t.isf((1 - confidence_level) / 2, k - 2) * np.sqrt(pooled.tau2 + pooled.se**2)
        pred = (pooled.estimate - half, pooled.estimate + half)
    else:
        pred = (float("nan"), float("nan"))
        notes.append("no prediction interval with 2 cells (it needs k - 2 >= 1 degrees of freedom)")
    loo = _leave_one_out(table, list(cells), method=method, confidence_level=confidence_level)
    regression, tau2_res = (None, float("nan"))
    if moderators:
        design = _moderator_design(frame, table, list(cells), list(moderators), baseline=baseline,
                                   arm_column=arm_column)
        regression, tau2_res = meta_regression(table["diff"].to_numpy(), table["variance"].to_numpy(), design,
                                               confidence_level=confidence_level)
    hib = infer_higher_is_better(metric) if higher_is_better is None else bool(higher_is_better)
    return MetaAnalysis(table, pooled, float(pred[0]), float(pred[1]), loo, regression, tau2_res, metric, arm,
                        baseline, method, confidence_level, hib, tuple(notes))


def meta_regression(effects: np.ndarray, variances: np.ndarray, design: pd.DataFrame, *,
                    confidence_level: float = 0.95) -> tuple[pd.DataFrame, float]:
    """Mixed-effects meta-regression of ``effects`` on ``design`` (with its intercept column).

    Returns the coefficient table and the residual :math:`\\tau^2` (module docstring).
    """
    import statsmodels.api as sm

    x, y, v = design.to_numpy(float), np.asarray(effects, float), np.asarray(variances, float)
    k, p = x.shape
    if k <= p:
        raise ValueError(f"meta_regression: {k} cells cannot fit {p} coefficients ({', '.join(design.columns)}); "
                         "use fewer moderators or more cells.")
    w = 1 / v
    fixed = sm.WLS(y, x, weights=w).fit()
    q_e = float(np.sum(w * fixed.resid**2))
    xtwx_inv = np.linalg.inv(x.T @ (w[:, None] * x))
    trace = w.sum() - np.trace(xtwx_inv @ (x.T @ ((w**2)[:, None] * x)))
    tau2 = max(0.0, (q_e - (k - p)) / trace)
    fit = sm.WLS(y, x, weights=1 / (v + tau2)).fit(cov_type="fixed scale")
    low, high = fit.conf_int(alpha=1 - confidence_level).T
    table = pd.DataFrame({"term": design.columns, "coef": fit.params, "se": fit.bse, "z": fit.tvalues,
                          "p": fit.pvalues, "ci_low": low, "ci_high": high})
    return table.reset_index(drop=True), tau2


def _moderator_design(frame: pd.DataFrame, table: pd.DataFrame, cells: list[str], moderators: list[str], *,
                      baseline: str, arm_column: str) -> pd.DataFrame:
    """Intercept, dummy-coded cell columns and per-cell baseline means of numeric columns."""
    columns: dict[str, Any] = {"intercept": np.ones(len(table))}
    base = frame[frame[arm_column].astype(str) == baseline]
    if "status" in base.columns:
        base = base[base["status"].astype(str) == "ok"]
    for name in moderators:
        if name in cells:
            dummies = pd.get_dummies(table[name].astype(str), prefix=name, drop_first=True, dtype=float)
            if dummies.empty:
                raise ValueError(f"meta_analysis: moderator {name!r} has one level in every cell; nothing to regress on.")
            columns.update({c: dummies[c].to_numpy() for c in dummies.columns})
        elif name in frame.columns and pd.api.types.is_numeric_dtype(frame[name]):
            means = base.groupby(cells, dropna=False)[name].mean()
            keys = [tuple(r) for r in table[cells].itertuples(index=False)]
            values = np.array([means.get(k if len(k) > 1 else k[0], np.nan) for k in keys], float)
            if np.isnan(values).any():
                raise ValueError(f"meta_analysis: moderator {name!r} has no {baseline} value in some cell.")
            columns[f"{name} ({baseline} mean)"] = values
        else:
            raise ValueError(f"meta_analysis: moderator {name!r} is neither a cell column ({', '.join(cells)}) "
                             "nor a numeric column of the runs.")
    return pd.DataFrame(columns)


def _leave_one_out(table: pd.DataFrame, cells: list[str], *, method: TauMethod, confidence_level: float) -> pd.DataFrame:
    rows = []
    for i in range(len(table)):
        rest = table.drop(index=table.index[i])
        p = pool(rest["diff"], rest["variance"], method=method, confidence_level=confidence_level)
        rows.append({**{c: table.iloc[i][c] for c in cells}, "estimate": p.estimate, "ci_low": p.ci_low,
                     "ci_high": p.ci_high, "tau2": p.tau2, "i2": p.i2})
    return pd.DataFrame(rows)


def meta_table(result: MetaAnalysis) -> pd.DataFrame:
    """Tidy rows for printing and :func:`~spcl_diag.plots.meta_forest.plot_meta_forest`.

    One row per cell (``kind`` ``"cell"``), then the pooled estimate (``"pooled"``) and the
    prediction interval for a new cell (``"prediction"``): columns ``kind``, ``cell``,
    ``n_seeds``, ``diff``, ``ci_low``, ``ci_high``, ``weight``.
    """
    cells = [c for c in result.cells.columns if c not in ("n_seeds", "diff", "variance", "se", "ci_low", "ci_high", "weight")]
    table = result.cells.assign(kind="cell", cell=result.cells[cells].astype(str).agg("/".join, axis=1))
    table = table[["kind", "cell", "n_seeds", "diff", "ci_low", "ci_high", "weight"]]
    p = result.pooled
    extra = pd.DataFrame([
        {"kind": "pooled", "cell": f"pooled ({result.method})", "n_seeds": int(table["n_seeds"].sum()),
         "diff": p.estimate, "ci_low": p.ci_low, "ci_high": p.ci_high, "weight": 1.0},
        {"kind": "prediction", "cell": "prediction (new cell)", "n_seeds": np.nan, "diff": p.estimate,
         "ci_low": result.prediction_low, "ci_high": result.prediction_high, "weight": np.nan},
    ])
    out = pd.concat([table, extra], ignore_index=True)
    return out.astype({"n_seeds": "Int64"})  # the prediction row has no seed count


__all__ = ["TAU_METHODS", "MetaAnalysis", "Pooled", "meta_analysis", "meta_regression", "meta_table", "pool"]
