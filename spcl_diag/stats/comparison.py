"""``compare``: every arm against the baseline, seed-paired, in one tidy table.

One row per (group, arm): the seeds that both the arm and the baseline have, means with
intervals, the paired difference with its interval, a paired test with its raw and
family-corrected p-value and the smallest p-value it could have reached, effect sizes,
ASO and the probability of improvement, and a verdict in plain words.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from spcl_diag._deprecation import keyword_only
from spcl_diag.metrics.registry import metric_direction
from spcl_diag.runs.sweep import group_by_sweeps
from spcl_diag.stats._common import check_confidence_level, check_rng, tie_tolerance
from spcl_diag.stats.bootstrap import bootstrap_ci
from spcl_diag.stats.effect_sizes import (
    cliffs_delta,
    cohens_dz,
    hedges_g,
    probability_of_improvement,
)
from spcl_diag.stats.hodges_lehmann import hodges_lehmann
from spcl_diag.stats.intervals import Interval, t_interval
from spcl_diag.stats.multiple import (
    CORRECTIONS,
    Correction,
    adjust_pvalues,
    attainable_adjusted_pvalues,
)
from spcl_diag.stats.paired_tests import PAIRED_TESTS, PairedTest, PairedTestResult, paired_test
from spcl_diag.stats.stochastic_order import aso
from spcl_diag.stats.streams import keyed_streams
from spcl_diag.stats.verdict import interval_disagrees, row_notes, verdict
from spcl_diag.suggest import close_names, did_you_mean

IntervalMethod = Literal["t", "percentile", "bca"]
DEFAULT_BY: tuple[str, ...] = ("dataset", "backbone", "modalities")  # plus "balancing" where it varies

COLUMNS: tuple[str, ...] = (
    "metric", "arm", "baseline", "n_seeds", "seeds", "n_unpaired", "mean", "ci_low", "ci_high",
    "baseline_mean", "baseline_low", "baseline_high", "diff", "diff_low", "diff_high", "ci_method",
    "confidence_level", "hl_shift", "hl_low", "hl_high", "test", "statistic", "p", "p_adjusted",
    "correction", "n_comparisons", "min_p", "min_p_adjusted", "interval_disagrees", "cohens_dz",
    "hedges_g", "cliffs_delta", "prob_improvement", "aso_eps_min", "higher_is_better", "verdict", "note",
)


def infer_higher_is_better(metric: str) -> bool | None:
    """The declared direction of ``metric``: True, False or None (neither side is better).

    Looked up by :func:`spcl_diag.metrics.registry.metric_direction` (registry entries,
    column names and name patterns).

    Raises
    ------
    ValueError
        When the metric has no declared direction; the message says how to give one.

    Examples
    --------
    >>> infer_higher_is_better("test_wf1"), infer_higher_is_better("test_unimodal_wf1_spread")
    (True, False)
    >>> infer_higher_is_better("test_grad_norm_share_a") is None
    True
    """
    try:
        return metric_direction(metric)
    except KeyError:
        raise ValueError(
            f"compare: metric {metric!r} has no declared direction; pass higher_is_better=True or False "
            "(command line: --higher-is-better / --lower-is-better), or declare it in "
            "spcl_diag/metrics/registry.py (METRICS, COLUMN_DIRECTIONS or DIRECTION_PATTERNS)."
        ) from None


def check_seed_roles(frame: pd.DataFrame, caller: str) -> None:
    """Refuse a frame that mixes tuning-seed and evaluation-seed runs (``seed_role``).

    A configuration chosen on its tuning seeds scores optimistically on them; only the
    fresh evaluation seeds give an honest comparison (:mod:`spcl_diag.batch.tune`).
    """
    if "seed_role" not in frame.columns:
        return
    roles = frame["seed_role"].fillna("").astype(str).value_counts()
    if "tune" in roles and "eval" in roles:
        raise ValueError(
            f"{caller}: the runs mix tuning and evaluation seeds (seed_role 'tune': {roles['tune']} runs, "
            f"'eval': {roles['eval']} runs); a choice made on the tuning seeds flatters them. Compare the "
            "evaluation runs only: results[results['seed_role'] == 'eval']."
        )


def results_frame(runs: Any) -> pd.DataFrame:
    """The results table of ``runs``: :class:`RunTables`, a results DataFrame, a folder of runs, or a
    ``.csv``/``.tsv`` of results from another codebase (one row per seed and arm). The one input
    normalisation of compare(), interaction(), rank_arms() and reproduce()."""
    from spcl_diag.runs.loading import RunTables, load_runs

    if isinstance(runs, RunTables):
        return runs.results
    if isinstance(runs, pd.DataFrame):
        return runs
    if isinstance(runs, (str, Path)) and Path(runs).suffix.lower() in (".csv", ".tsv"):
        from spcl_diag.runs.external import read_results

        return read_results(runs)
    if isinstance(runs, (str, Path)):
        return load_runs(runs).results
    raise TypeError(f"runs must be RunTables, a results DataFrame or a path; got {type(runs).__name__}.")


def _interval(values: np.ndarray, method: IntervalMethod, *, rng: np.random.Generator,
              confidence_level: float, n_resamples: int) -> Interval:
    if method == "t":
        return t_interval(values, confidence_level=confidence_level)
    return bootstrap_ci(values, "mean", rng=rng, n_resamples=n_resamples, confidence_level=confidence_level, method=method)


def _seed_values(rows: pd.DataFrame, metric: str, pair_on: str) -> tuple[pd.Series, int]:
    """Metric by seed, and how many runs had no value."""
    values = pd.to_numeric(rows[metric], errors="coerce")
    keep = values.notna()
    return pd.Series(values[keep].to_numpy(float), index=rows.loc[keep, pair_on].to_numpy()), int((~keep).sum())


def _compare_one(
    arm_values: pd.Series, base_values: pd.Series, *, test: PairedTest, rng: np.random.Generator,
    interval: IntervalMethod, confidence_level: float, n_resamples: int, aso_resamples: int, sign: float,
) -> dict[str, Any]:
    seeds = sorted(set(arm_values.index) & set(base_values.index))
    a = arm_values.loc[seeds].to_numpy(float) if seeds else np.zeros(0)
    b = base_values.loc[seeds].to_numpy(float) if seeds else np.zeros(0)
    n = len(seeds)
    out: dict[str, Any] = {"n_seeds": n, "seeds": ",".join(map(str, seeds)), "interval_disagrees": False,
                           "_n_nonzero": 0, "_constant": False}
    if n == 0:
        return out
    d, tol = a - b, tie_tolerance(a, b)
    n_nonzero = int(np.count_nonzero(np.abs(d) > tol))
    constant = n > 1 and n_nonzero == n and float(np.ptp(d)) <= tol
    tested = n > 1 and n_nonzero > 0  # otherwise not a comparison: no p-value, not in the family
    test_rng, arm_rng, diff_rng, aso_rng, base_rng = rng.spawn(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # degenerate cases are explained in the note
        arm_ci = _interval(a, interval, rng=arm_rng, confidence_level=confidence_level, n_resamples=n_resamples)
        base_ci = _interval(b, interval, rng=base_rng, confidence_level=confidence_level, n_resamples=n_resamples)
        diff_ci = _interval(d, interval, rng=diff_rng, confidence_level=confidence_level, n_resamples=n_resamples)
        shift = hodges_lehmann(a, b, confidence_level=confidence_level) if test == "wilcoxon" and n > 1 else None
        result: PairedTestResult = paired_test(a, b, test=test, rng=test_rng)
        p, min_p = (result.pvalue, result.min_pvalue) if tested else (np.nan, np.nan)
        out.update(
            mean=arm_ci.estimate, ci_low=arm_ci.low, ci_high=arm_ci.high, baseline_mean=float(b.mean()),
            baseline_low=base_ci.low, baseline_high=base_ci.high,
            diff=float(d.mean()), diff_low=diff_ci.low, diff_high=diff_ci.high, test=result.method,
            hl_shift=shift.estimate if shift else np.nan, hl_low=shift.low if shift else np.nan,
            hl_high=shift.high if shift else np.nan,
            statistic=result.statistic if tested else np.nan, p=p, min_p=min_p,
            interval_disagrees=interval_disagrees(p, min_p, diff_ci, confidence_level),
            cohens_dz=cohens_dz(a, b) if n > 1 else np.nan, hedges_g=hedges_g(a, b) if n > 1 else np.nan,
            cliffs_delta=cliffs_delta(a, b), prob_improvement=probability_of_improvement(sign * a, sign * b),
            aso_eps_min=aso(sign * a, sign * b, rng=aso_rng, confidence_level=confidence_level,
                            n_resamples=aso_resamples).epsilon_min if n > 1 else np.nan,
            _direction=result.direction if tested else 0, _n_nonzero=n_nonzero, _constant=constant,
            _undefined=tested and not np.isfinite(p),
        )
    return out


@keyword_only("baseline", "arms", "by")
def compare(
    runs: Any,
    metric: str,
    *,
    baseline: str = "none",
    arms: Sequence[str] | None = None,
    by: Sequence[str] | None = None,
    rng: np.random.Generator,
    alpha: float = 0.05,
    correction: Correction = "holm",
    test: PairedTest = "wilcoxon",
    interval: IntervalMethod = "t",
    confidence_level: float = 0.95,
    higher_is_better: bool | None = None,
    arm_column: str = "curriculum",
    pair_on: str = "seed",
    n_resamples: int = 9999,
    aso_resamples: int = 1000,
    sequential: bool = False,
) -> pd.DataFrame:
    r"""Compare every arm with the baseline, seed by seed, in one tidy table.

    Parameters
    ----------
    runs
        :class:`~spcl_diag.runs.loading.RunTables`, its ``results`` frame (or any frame with
        the ``by``, ``arm_column``, ``pair_on`` and ``metric`` columns, such as
        :func:`~spcl_diag.stats.trajectory.summarise_epochs` output or the results of
        another codebase, one row per seed and arm), a folder of runs, or a ``.csv`` file
        of such rows. Rows with a ``status`` other than ``ok`` are ignored. Config fields
        swept in a grid (columns such as ``train.lr`` that differ between otherwise equal
        runs) join ``by``; see :func:`~spcl_diag.runs.sweep.group_by_sweeps`.
    metric
        Column to compare: ``test_wf1``, ``test_acc_a``, ``test_disparity_ratio_t``, ...
    baseline
        Value of ``arm_column`` that every arm is compared with.
    arms
        Arms to compare (default: every other value of ``arm_column``, sorted). The declared
        family is every (group, arm) row of this call.
    by
        Columns that define the groups (tasks); ``()`` for one group. ``None`` (default):
        ``dataset``, ``backbone``, ``modalities``, and ``balancing`` where the runs vary in it
        (unless it is the ``arm_column``), so a factorial curriculum x balancing grid is
        compared within each balancing method.
    rng
        The :class:`numpy.random.Generator` for bootstrap intervals, ASO and Monte Carlo
        permutation tests; each row draws from a stream derived from ``rng`` and the row's
        key (metric, group values, arm; :func:`~spcl_diag.stats.streams.keyed_streams`), so a
        row's numbers do not depend on which other groups or arms are in the runs.
    alpha
        Level of the verdict (after correction).
    correction
        ``"holm"`` (default), ``"bh"``, ``"bonferroni"`` or ``"none"`` over the family.
    test
        ``"wilcoxon"`` (exact signed-rank), ``"t"`` (paired t) or ``"permutation"``
        (sign flip, exact up to :math:`2^{16}` patterns).
    interval
        Interval of the means and of the difference: ``"t"`` (Student, default; the only
        one with its nominal coverage at 3-20 seeds), ``"percentile"`` or ``"bca"``
        (under-cover with few seeds: the row's note gives the measured coverage).
    confidence_level
        Coverage of every interval (arm mean, difference) and of the ASO bound.
    higher_is_better
        Direction of the metric; ``None`` takes its declared direction
        (:func:`infer_higher_is_better`: the metric registry, then name patterns), and a
        metric without one is a ValueError. Metrics with no better side (gradient shares,
        Shapley contributions, CUR, perceptual scores) get "higher"/"lower" verdicts.
    arm_column
        Column naming the arms (``curriculum``; ``balancing`` to compare balancing methods).
    pair_on
        Column that pairs runs (``seed``): only values present in both the arm and the
        baseline count, and ``n_unpaired`` says how many runs were left out.
    n_resamples
        Bootstrap resamples of the ``percentile``/``bca`` intervals.
    aso_resamples
        Bootstrap resamples of the ASO bound.
    sequential
        Add the anytime-valid confidence sequence of each row's difference (seeds in
        ascending order, each row at ``alpha / rows``):
        :data:`~spcl_diag.stats.sequential.SEQUENTIAL_COLUMNS` (see
        :func:`~spcl_diag.stats.sequential.sequential_columns`). It is the interval that stays
        valid when seeds were added until the result looked good; the t interval is not.

    Returns
    -------
    pandas.DataFrame
        One row per (group, arm) with the ``by`` columns and :data:`COLUMNS`:
        ``mean``/``ci_*`` of the arm and ``baseline_mean``/``baseline_low``/``baseline_high``
        of the baseline over the paired seeds, at ``confidence_level`` (a column, so tables
        made from the frame state it); ``diff`` = mean of arm - baseline with
        ``diff_low``/``diff_high``; with the Wilcoxon test, ``hl_shift`` (Hodges-Lehmann: the
        median of the Walsh averages of the differences, the estimate that goes with the
        signed-rank test) and its signed-rank interval ``hl_low``/``hl_high``
        (:func:`~spcl_diag.stats.hodges_lehmann.hodges_lehmann`; ``nan`` under the other
        tests); ``p`` and ``p_adjusted`` over ``n_comparisons`` rows;
        ``interval_disagrees`` (the test at level ``1 - confidence_level`` and the interval of
        the mean difference disagree about 0); ``min_p`` (smallest p the test could
        reach with these seeds) and ``min_p_adjusted`` (the adjusted p this row would get at
        ``min_p``, the others unchanged: the same step-down as ``p_adjusted``); ``cohens_dz``
        (:math:`\pm\infty` for a constant non-zero difference),
        ``hedges_g`` and ``cliffs_delta`` in the metric's own sign (arm - baseline);
        ``prob_improvement`` (:math:`P(\text{arm better than baseline})`) and
        ``aso_eps_min`` (< 0.5: arm almost stochastically better) oriented by
        ``higher_is_better``; ``verdict`` and ``note``.

    Notes
    -----
    The verdict never calls a difference significant when the test cannot reach
    ``alpha``: "cannot reach p<0.05 with 3 seeds (min p 0.25)" when the raw minimum is above
    ``alpha``, and "cannot reach p_holm<0.05 with 6 seeds over 4 comparisons (min p_holm
    0.125)" when only the corrected one is. Otherwise it reads "better (p_holm=0.01)",
    "worse (...)" or "no significant difference (...)", with better/worse following the
    sign of the mean paired difference ``diff`` and ``higher_is_better``; when the test's own
    direction (the signed ranks) points the other way the verdict and the note say so.
    Rows that cannot be tested (fewer than 2 paired seeds, every difference zero) keep
    ``nan`` p-values and are not counted in the family, whatever the test. A row whose
    difference is the same non-zero value on every seed is a comparison under every test:
    the rank and sign-flip tests give it :math:`p = 2/2^k`; the paired t test is undefined
    there (sd 0), so its ``p`` stays ``nan`` and it counts in the family with :math:`p = 1`
    (``n_undefined`` of :func:`~spcl_diag.stats.multiple.adjust_pvalues`). When the raw test
    rejects at level ``1 - confidence_level`` but the interval of the mean difference covers
    0, or the other way round (one large loss among many small gains), ``interval_disagrees``
    is true and the verdict, the note and the paper table say so. Differences within
    :data:`~spcl_diag.stats._common.TIE_RTOL` of the score scale are zero or tied; zero
    differences are dropped by the Wilcoxon and sign-flip tests, which lowers their ``n``.
    The verdict wording lives in :mod:`spcl_diag.stats.verdict`.
    ASO is unreliable with few seeds and at threshold 0.5 its false-positive rate exceeds
    ``alpha`` (Ulmer et al. 2022 suggest 0.2); the verdict does not use it.

    References
    ----------
    .. [1] Dror, R. et al. (2019), Deep dominance. ACL. .. [2] Agarwal, R. et al. (2021),
       Deep RL at the edge of the statistical precipice. NeurIPS. .. [3] Ulmer, D. et al.
       (2022), deep-significance. arXiv:2204.06815.

    Examples
    --------
    >>> frame = pd.DataFrame({"dataset": "synthetic", "curriculum": ["none"] * 3 + ["spcl"] * 3,
    ...                       "seed": [0, 1, 2] * 2, "test_wf1": [0.60, 0.62, 0.61, 0.63, 0.64, 0.62]})
    >>> table = compare(frame, "test_wf1", by=("dataset",), rng=np.random.default_rng(0))
    >>> table[["arm", "n_seeds", "diff", "verdict"]].round(3).values.tolist()
    [['spcl', 3, 0.02, 'cannot reach p<0.05 with 3 seeds (min p 0.25)']]
    """
    frame = results_frame(runs)
    check_rng(rng)
    check_confidence_level(confidence_level)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha}.")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}; got {correction!r}.")
    if test not in PAIRED_TESTS:
        raise ValueError(f"test must be one of {', '.join(PAIRED_TESTS)}; got {test!r}.")
    if interval not in ("t", "percentile", "bca"):
        raise ValueError(f"interval must be 't', 'percentile' or 'bca'; got {interval!r}.")
    if by is None:
        varies = "balancing" in frame.columns and arm_column != "balancing" and frame["balancing"].nunique() > 1
        by = [*DEFAULT_BY, *(["balancing"] if varies else [])]
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in (*by, arm_column, pair_on) if c not in frame.columns]
    if missing or metric not in frame.columns:
        numbers = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and c != pair_on]
        numeric = [c for c in numbers if c.startswith(("test_", "dev_"))] or numbers  # a run table's, or a CSV's
        problems = [f"column {c!r} (from by/arm_column/pair_on) is missing" for c in missing]
        if metric not in frame.columns:
            hint = did_you_mean(close_names(metric, numeric))
            listing = f"metric columns: {', '.join(numeric) or 'none'}"
            problems.append(f"metric {metric!r} is not a column; "
                            + (f"{hint} {listing[:1].upper()}{listing[1:]}" if hint else listing))
        raise ValueError("compare: " + "; ".join(problems) + ".")
    if "status" in frame.columns:
        frame = frame[frame["status"].astype(str) == "ok"]
    check_seed_roles(frame, "compare")
    frame, by = group_by_sweeps(frame, by, arm_column=arm_column, pair_on=pair_on, baseline=baseline)
    hib = infer_higher_is_better(metric) if higher_is_better is None else bool(higher_is_better)
    present_arms = sorted(set(frame[arm_column].astype(str)))
    if baseline not in present_arms:
        raise ValueError(f"compare: baseline {baseline!r} has no runs in column {arm_column!r}; "
                         f"arms present: {', '.join(present_arms) or 'none'}.")
    if pd.to_numeric(frame[metric], errors="coerce").isna().all():
        raise ValueError(f"compare: metric {metric!r} has no value in any run (all NaN or non-numeric); "
                         "nothing to compare.")
    duplicated = frame.duplicated([*by, arm_column, pair_on], keep=False)
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        where = ", ".join(f"{c}={first[c]}" for c in (*by, arm_column, pair_on))
        raise ValueError(
            f"compare: {int(duplicated.sum())} runs share their ({', '.join((*by, arm_column, pair_on))}) with "
            f"another run, e.g. {where}; add the differing config field to by= or filter the frame first."
        )
    groups = list(frame.groupby(by, dropna=False, sort=True)) if by else [((), frame)]
    tasks = []
    for key, rows in groups:
        key = key if isinstance(key, tuple) else (key,)
        present = sorted(set(rows[arm_column].astype(str)) - {baseline})
        for arm in list(arms) if arms is not None else present:
            if arm != baseline:
                tasks.append((dict(zip(by, key)), arm, rows))
    children = keyed_streams(rng, [(metric, *(f"{k}={v}" for k, v in group.items()), arm) for group, arm, _ in tasks])
    sign = -1.0 if hib is False else 1.0
    records, pairs = [], []
    for (group, arm, rows), child in zip(tasks, children):
        arm_values, arm_nan = _seed_values(rows[rows[arm_column].astype(str) == arm], metric, pair_on)
        base_values, base_nan = _seed_values(rows[rows[arm_column].astype(str) == baseline], metric, pair_on)
        pairs.append((arm_values, base_values))
        row = _compare_one(arm_values, base_values, test=test, rng=child, interval=interval,
                           confidence_level=confidence_level, n_resamples=n_resamples,
                           aso_resamples=aso_resamples, sign=sign)
        only_arm = sorted(set(arm_values.index) - set(base_values.index))
        only_base = sorted(set(base_values.index) - set(arm_values.index))
        notes: list[str] = []
        if only_arm or only_base:
            notes.append(f"paired by {pair_on}: left out {arm} {only_arm or '[]'}, {baseline} {only_base or '[]'}")
        if arm_nan or base_nan:
            notes.append(f"{arm_nan + base_nan} run(s) without a {metric} value left out")
        if row["n_seeds"]:
            notes += row_notes(row, test=test, interval=interval, confidence_level=confidence_level)
        if base_values.empty:
            row["_missing"] = f"no {baseline} runs in this group"
        elif arm_values.empty:
            row["_missing"] = f"no {arm} runs in this group"
        row.update(group, metric=metric, arm=arm, baseline=baseline, n_unpaired=len(only_arm) + len(only_base),
                   ci_method="student-t" if interval == "t" else f"bootstrap-{interval}", confidence_level=confidence_level,
                   correction=correction, higher_is_better=hib, note="; ".join(notes))
        records.append(row)
    pvalues = np.array([r.get("p", np.nan) for r in records], dtype=float)
    undefined = sum(bool(r.get("_undefined")) for r in records)  # tested, no p-value: in the family at p = 1
    adjusted = adjust_pvalues(pvalues, method=correction, alpha=alpha, n_undefined=undefined)
    floors = attainable_adjusted_pvalues(pvalues, [r.get("min_p", np.nan) for r in records], method=correction,
                                         n_undefined=undefined)
    for record, p_adj, floor in zip(records, adjusted.pvalues_adjusted, floors):
        record["p_adjusted"], record["n_comparisons"] = float(p_adj), adjusted.n_comparisons
        record["min_p_adjusted"] = float(floor)
        record["verdict"] = verdict(record, alpha=alpha, correction=correction, higher_is_better=hib)
    columns = [*by, *COLUMNS]
    if sequential:
        from spcl_diag.stats.sequential import (
            SEQUENTIAL_COLUMNS,
            SEQUENTIAL_NOTE,
            sequential_columns,
        )

        for record, (arm_values, base_values) in zip(records, pairs):
            record.update(sequential_columns(arm_values, base_values, alpha=alpha / len(records), higher_is_better=hib))
        columns += SEQUENTIAL_COLUMNS
    table = pd.DataFrame.from_records(records, columns=columns) if records else pd.DataFrame(columns=columns)
    table.attrs.update(alpha=alpha, confidence_level=confidence_level, test=test, correction=correction)
    if sequential:
        table.attrs["sequential"] = SEQUENTIAL_NOTE
    return table


__all__ = ["COLUMNS", "check_seed_roles", "compare", "infer_higher_is_better", "results_frame"]
