r"""Reproduction verdicts: our seeds against the numbers a paper published.

For every cell (backbone, dataset, modalities, arm) of the runs that a table of published
numbers covers, :func:`reproduce` gives our mean over seeds with its Student-t interval, the
interval a published number would fall in if it reproduced ours (a prediction interval), a
two-sample t test of the published value against our seeds, corrected over the cells, and
how many seeds would resolve a gap of the observed size.

The table (:func:`load_published`) has one row per published number, with the columns
``backbone, dataset, modalities, arm, metric, value, source``: ``metric`` is a column of
the run results (``test_wf1``, ``test_acc``), ``value`` is in percent as papers print it,
and ``source`` is the citation. Two optional columns: ``n_runs``, the number of runs the
published value is the mean of (blank or absent: one run, what most tables print), and
``unit``, ``percent`` (the default) or ``fraction``. The package ships
``spcl_diag/data/published.csv``.

The built-in benchmarks (``synthetic``, ``iemocap-text``, ``meld-text``) are synthetic or
semi-synthetic: their numbers are **not comparable** to published IEMOCAP or MELD results,
and the shipped table does not match them (its datasets are ``IEMOCAP`` and ``MELD``; runs
on the real feature files are matched through ``dataset_names``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from spcl_diag.stats._common import check_confidence_level, tie_tolerance
from spcl_diag.stats.multiple import CORRECTIONS, Correction, adjust_pvalues
from spcl_diag.stats.verdict import direction_word

PUBLISHED_COLUMNS: tuple[str, ...] = ("backbone", "dataset", "modalities", "arm", "metric", "value", "source")
OPTIONAL_COLUMNS: tuple[str, ...] = ("n_runs", "unit")
UNITS: dict[str, float] = {"percent": 1.0, "fraction": 100.0}  # unit -> factor to percent
CELL_COLUMNS: tuple[str, ...] = ("backbone", "dataset", "modalities", "arm", "metric")
BUILTIN_BENCHMARKS: tuple[str, ...] = ("synthetic", "iemocap-text", "meld-text")
MAX_PLANNED_SEEDS = 10_000  # seeds_to_resolve searches up to this many
COLUMNS: tuple[str, ...] = (
    *CELL_COLUMNS, "run_dataset", "published", "n_runs", "source", "n_seeds", "seeds", "mean", "ci_low", "ci_high",
    "pi_low", "pi_high", "inside", "gap", "t", "p", "p_adjusted", "correction", "n_comparisons", "seeds_to_resolve",
    "verdict", "note",
)


def load_published(path: str | Path | None = None) -> pd.DataFrame:
    """A table of published numbers, validated; ``None`` reads the shipped ``published.csv``.

    Raises
    ------
    ValueError
        Naming the file, the row and the column of every problem (missing columns, values
        outside [0, 100], empty citations, repeated cells).

    Examples
    --------
    >>> table = load_published()
    >>> table.query("backbone == 'mmgcn' and dataset == 'IEMOCAP'")["value"].tolist()
    [62.67]
    """
    if path is None:
        with resources.files("spcl_diag.data").joinpath("published.csv").open() as f:
            frame, name = pd.read_csv(f, dtype={"modalities": str}), "spcl_diag/data/published.csv"
    else:
        frame, name = pd.read_csv(path, dtype={"modalities": str}), str(path)
    return _validated(frame, name)


def _validated(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    missing = [c for c in PUBLISHED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}; a published table has {', '.join(PUBLISHED_COLUMNS)}"
                         f" (optional: {', '.join(OPTIONAL_COLUMNS)}).")
    problems = []
    values = pd.to_numeric(frame["value"], errors="coerce")
    units = frame["unit"].fillna("percent").astype(str).str.strip() if "unit" in frame.columns else None
    runs = pd.to_numeric(frame["n_runs"], errors="coerce").fillna(1) if "n_runs" in frame.columns else None
    for i, row in frame.iterrows():
        where = f"row {int(i) + 2}"  # 1-based, after the header line
        unit = "percent" if units is None else units[i]
        if unit not in UNITS:
            problems.append(f"{where}, column 'unit': expected one of {', '.join(UNITS)}, found {row['unit']!r}")
        elif not (0 <= values[i] <= 100 / UNITS[unit]):
            kind = "a percentage in [0, 100]" if unit == "percent" else "a fraction in [0, 1]"
            problems.append(f"{where}, column 'value': expected {kind}, found {row['value']!r}")
        if runs is not None and not (runs[i] >= 1 and float(runs[i]).is_integer()):
            problems.append(f"{where}, column 'n_runs': expected the number of runs averaged (an integer >= 1), "
                            f"found {row['n_runs']!r}")
        if not isinstance(row["source"], str) or not row["source"].strip():
            problems.append(f"{where}, column 'source': every number needs its citation")
        for column in ("backbone", "dataset", "modalities", "arm", "metric"):
            if not isinstance(row[column], str) or not row[column].strip():
                problems.append(f"{where}, column {column!r}: empty")
    if units is None:  # read as percent: a metric whose values all look like fractions is ambiguous
        for metric, group in values.groupby(frame["metric"]):
            if group.notna().all() and group.between(0, 1).all():
                problems.append(
                    f"rows {[int(i) + 2 for i in group.index]}, metric {metric!r}: every value lies in [0, 1] "
                    f"(e.g. {group.iloc[0]:g}), so they look like fractions, but the table is read as percent; "
                    "add a column 'unit' saying 'fraction' (or 'percent')")
    repeated = frame.duplicated(list(CELL_COLUMNS), keep=False)
    if repeated.any():
        problems.append(f"rows {[int(i) + 2 for i in frame.index[repeated]]}: the same cell is given more than once")
    if problems:
        raise ValueError(f"{name}: invalid published table:\n  - " + "\n  - ".join(problems))
    out = frame.copy()
    out["value"] = values.astype(float) * (1.0 if units is None else units.map(UNITS).astype(float))
    out["n_runs"] = 1 if runs is None else runs.astype(int)
    out["modalities"] = out["modalities"].map(lambda s: "".join(sorted(s, key="tav".index)) if set(s) <= set("tav") else s)
    return out


def reproduce(
    runs: Any,
    published: str | Path | pd.DataFrame | None = None,
    *,
    dataset_names: Mapping[str, str] | None = None,
    confidence_level: float = 0.95,
    power: float = 0.8,
    correction: Correction = "holm",
) -> pd.DataFrame:
    r"""Compare our runs with published numbers, cell by cell.

    Parameters
    ----------
    runs
        :class:`~spcl_diag.runs.loading.RunTables`, its ``results`` frame or a folder of runs.
        Failed runs are left out (and counted in ``note``). Scores are fractions, as runs
        store them; a cell whose scores leave [0, 1] is refused.
    published
        A published table (path or frame with :data:`PUBLISHED_COLUMNS`, optionally
        ``n_runs`` and ``unit``); ``None`` uses the shipped ``spcl_diag/data/published.csv``.
    dataset_names
        Our ``dataset`` value -> the published dataset name, e.g.
        ``{"/data/IEMOCAP_features.pkl": "IEMOCAP"}``. Without an entry a run's dataset
        must equal the published name (case-insensitive).
    confidence_level
        Coverage of the intervals; the test's level is :math:`\alpha = 1 -` ``confidence_level``,
        so "inside the prediction interval" and ":math:`p \ge \alpha`" agree.
    power
        Power for ``seeds_to_resolve``.
    correction
        ``"holm"`` (default), ``"bh"``, ``"bonferroni"`` or ``"none"`` over the tested cells:
        the published cells of one call are one family, as the rows of
        :func:`~spcl_diag.stats.comparison.compare`.

    Returns
    -------
    pandas.DataFrame
        One row per covered cell (:data:`COLUMNS`), scores in percent: ``mean``, ``ci_low``,
        ``ci_high`` (our mean's t interval), ``pi_low``, ``pi_high`` (where a published mean
        of ``n_runs`` runs falls if it reproduces ours), ``inside`` (the published value in
        that interval), ``gap`` = mean - published, ``t``, ``p`` and ``p_adjusted`` over
        ``n_comparisons`` cells, ``seeds_to_resolve`` (our seeds for which the test detects a
        gap of this size with probability ``power`` at the per-comparison level; empty when no
        number of seeds can), ``verdict`` in :func:`~spcl_diag.stats.comparison.compare`'s words
        and ``note``.

    Notes
    -----
    A published value :math:`v` is the mean of :math:`k` runs (``n_runs``; one when the table
    does not say) from the same distribution as our :math:`n` seeds when it reproduces them,
    so :math:`\bar x - v` has variance :math:`\sigma^2 (1/n + 1/k)`; with our standard
    deviation :math:`s` (their runs are not published),

    .. math:: t = \frac{\bar x - v}{s \sqrt{1/n + 1/k}} \sim t_{n-1}, \qquad
              \text{PI} = \bar x \pm t_{1-\alpha/2,\,n-1}\, s \sqrt{1/n + 1/k}.

    For :math:`k = 1` this is the prediction interval of one new run and the pooled
    two-sample t test with a second sample of one (``scipy.stats.ttest_ind(x, [v])``). Judging a
    single published run against the confidence interval of our mean instead calls a perfect
    reproduction "different" 18 % to 68 % of the time at 3 to 20 seeds
    (``analyses/verdict_calibration.py``). The seed plan uses the same model: the power at
    :math:`n` seeds is that of a noncentral :math:`t_{n-1}` with noncentrality
    :math:`d / \sqrt{1/n + 1/k}`, :math:`d = (\bar x - v)/s`, which tends to :math:`d\sqrt k`:
    below :math:`|d|\sqrt k \approx z_{1-\alpha/2} + z_{\text{power}}` no number of our seeds
    resolves the gap, since the published run's own noise does not shrink.

    Examples
    --------
    >>> ours = pd.DataFrame({"dataset": "IEMOCAP", "backbone": "mmgcn", "modalities": "tav",
    ...                      "curriculum": "none", "balancing": "none", "seed": [0, 1, 2, 3],
    ...                      "status": "ok", "test_wf1": [0.612, 0.618, 0.605, 0.622]})
    >>> row = reproduce(ours).iloc[0]
    >>> round(float(row["mean"]), 2), bool(row["inside"]), row["verdict"]
    (61.42, True, 'no significant difference from the published 62.67 (p_holm=0.23); no number of seeds resolves a gap of -1.25 against one published run')
    """
    from spcl_diag.stats.comparison import check_seed_roles, infer_higher_is_better, results_frame

    check_confidence_level(confidence_level)
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}; got {correction!r}.")
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1); got {power}.")
    table = _validated(published, "published frame") if isinstance(published, pd.DataFrame) else load_published(published)
    frame = results_frame(runs)
    check_seed_roles(frame[frame["status"].astype(str) == "ok"] if "status" in frame else frame, "reproduce")
    names = {str(k): str(v) for k, v in (dataset_names or {}).items()}
    wanted = ("dataset", "backbone", "modalities", "curriculum", "seed")
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ValueError(f"reproduce: the runs lack column(s) {', '.join(missing)}.")
    frame = frame.assign(_published_dataset=frame["dataset"].astype(str).map(lambda d: str(names.get(d, d)).lower()))
    if "balancing" in frame.columns:
        frame = frame[frame["balancing"].fillna("none").astype(str) == "none"]  # published baselines balance nothing
    records = []
    for cell in table.itertuples(index=False):
        rows = frame[
            (frame["_published_dataset"] == str(cell.dataset).lower()) & (frame["backbone"] == cell.backbone)
            & (frame["modalities"] == cell.modalities) & (frame["curriculum"] == cell.arm)
        ]
        if rows.empty:
            continue
        if cell.metric not in rows.columns:
            raise ValueError(f"reproduce: the runs have no {cell.metric!r} column (published row {cell.source!r}).")
        records.append(_cell_row(cell._asdict(), rows, confidence_level=confidence_level))
    pvalues = np.array([r.get("p", np.nan) for r in records], dtype=float)
    adjusted = adjust_pvalues(pvalues, method=correction, alpha=1 - confidence_level)
    for record, p_adjusted in zip(records, adjusted.pvalues_adjusted):
        record.update(p_adjusted=float(p_adjusted), correction=correction, n_comparisons=adjusted.n_comparisons)
        if np.isfinite(record.get("p", np.nan)):
            level = (1 - confidence_level) / (adjusted.n_comparisons if correction in ("holm", "bonferroni") else 1)
            record["seeds_to_resolve"] = seeds_to_resolve(record["_effect"], record["n_runs"], alpha=level, power=power)
            try:
                higher = infer_higher_is_better(record["metric"])
            except ValueError:
                higher = None
            record["verdict"] = _verdict(record, alpha=1 - confidence_level, higher_is_better=higher)
    out = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    out["seeds_to_resolve"] = out["seeds_to_resolve"].astype("Int64")  # <NA>: no number of seeds resolves the gap
    out.attrs["confidence_level"] = confidence_level
    return out


def seeds_to_resolve(effect: float, n_runs: int, *, alpha: float, power: float) -> int | None:
    r"""Our seeds at which the two-sample t test against a published mean of ``n_runs`` runs has ``power``.

    Parameters
    ----------
    effect
        The gap in units of our standard deviation, :math:`d = (\bar x - v) / s`.
    n_runs
        :math:`k`, the runs the published value averages.
    alpha
        Two-sided level of the test.
    power
        Target probability of rejecting when the gap is real.

    Returns
    -------
    int or None
        The fewest :math:`n \ge 2` (up to :data:`MAX_PLANNED_SEEDS`); ``None`` when no
        number of seeds reaches ``power``.

    Notes
    -----
    Power at :math:`n` seeds: :math:`P(|T| > t_{1-\alpha/2,n-1})` for :math:`T` noncentral
    :math:`t_{n-1}` with noncentrality :math:`\lambda_n = d / \sqrt{1/n + 1/k}`. As
    :math:`n \to \infty` it tends to :math:`\Phi(|d|\sqrt k - z_{1-\alpha/2}) +
    \Phi(-|d|\sqrt k - z_{1-\alpha/2})`; below ``power`` no :math:`n` suffices. For
    :math:`k = 1` this is ``statsmodels``' ``TTestIndPower`` with ``nobs1 = n`` and
    ``ratio = 1/n``.

    Examples
    --------
    >>> seeds_to_resolve(2.0, 1, alpha=0.05, power=0.8) is None  # one published run: its noise stays
    True
    >>> seeds_to_resolve(2.0, 5, alpha=0.05, power=0.8), seeds_to_resolve(1.0, 10**6, alpha=0.05, power=0.8)
    (7, 10)
    """
    if not math.isfinite(effect) or effect == 0:
        return None
    z = sps.norm.ppf(1 - alpha / 2)
    limit = sps.norm.cdf(abs(effect) * math.sqrt(n_runs) - z) + sps.norm.cdf(-abs(effect) * math.sqrt(n_runs) - z)
    if limit < power:
        return None
    n = np.arange(2, MAX_PLANNED_SEEDS + 1)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # scipy's noncentral t warns far in the tails; those powers are 0 or 1
        crit = sps.t.ppf(1 - alpha / 2, n - 1)
        ncp = abs(effect) / np.sqrt(1 / n + 1 / n_runs)
        achieved = sps.nct.sf(crit, n - 1, ncp) + sps.nct.cdf(-crit, n - 1, ncp)
    reached = np.flatnonzero(achieved >= power)
    return int(n[reached[0]]) if reached.size else None


def _cell_row(cell: dict[str, Any], rows: pd.DataFrame, *, confidence_level: float) -> dict[str, Any]:
    ok = rows[rows["status"].astype(str) == "ok"] if "status" in rows.columns else rows
    repeated = ok["seed"].duplicated(keep=False)
    where = f"{cell['backbone']}/{cell['dataset']}/{cell['modalities']}/{cell['arm']}"
    if repeated.any():
        raise ValueError(
            f"reproduce: cell {where} has several runs with seed {ok.loc[repeated, 'seed'].iloc[0]}; the runs differ "
            "in a setting outside backbone, dataset, modalities and arm: filter them first."
        )
    values = pd.to_numeric(ok[cell["metric"]], errors="coerce")
    outside = values[values.notna() & ~values.between(0, 1)]
    if len(outside):
        raise ValueError(f"reproduce: cell {where}, {cell['metric']}: our scores are fractions in [0, 1] as runs store "
                         f"them, found {outside.iloc[0]:g}; divide percent results by 100 first.")
    x = 100 * values[values.notna()].to_numpy(float)
    seeds = sorted(ok.loc[values.notna(), "seed"].tolist())
    v, k, alpha = float(cell["value"]), int(cell["n_runs"]), 1 - confidence_level
    notes = []
    if len(ok) < len(rows):
        notes.append(f"{len(rows) - len(ok)} failed run(s) left out")
    run_datasets = sorted(set(rows["dataset"].astype(str)))
    if set(run_datasets) & set(BUILTIN_BENCHMARKS):
        notes.append("built-in benchmark: not comparable to published numbers")
    row: dict[str, Any] = {
        **{c: cell[c] for c in CELL_COLUMNS}, "run_dataset": ", ".join(run_datasets), "published": v, "n_runs": k,
        "source": cell["source"], "n_seeds": len(x), "seeds": ",".join(map(str, seeds)), "note": "; ".join(notes),
    }
    if len(x) == 0:
        return {**row, "verdict": "no finished runs"}
    n, mean = len(x), float(x.mean())
    row.update(mean=mean, gap=mean - v)
    if n < 2:
        return {**row, "verdict": "too few seeds (1): no interval, no test"}
    if float(np.ptp(x)) <= tie_tolerance(x, np.array([v])):  # equal up to floating-point noise
        return {**row, "verdict": f"test undefined: the same score on all {n} seeds"}
    s, q = float(x.std(ddof=1)), float(sps.t.ppf(1 - alpha / 2, n - 1))
    ci_half, pi_half = q * s / math.sqrt(n), q * s * math.sqrt(1 / n + 1 / k)
    t = (mean - v) / (s * math.sqrt(1 / n + 1 / k))
    row.update(ci_low=mean - ci_half, ci_high=mean + ci_half, pi_low=mean - pi_half, pi_high=mean + pi_half,
               inside=bool(mean - pi_half <= v <= mean + pi_half), t=t, p=float(2 * sps.t.sf(abs(t), n - 1)),
               _effect=(mean - v) / s)
    return row


def _verdict(row: dict[str, Any], *, alpha: float, higher_is_better: bool | None) -> str:
    """compare()'s words for a tested cell: better/worse than the published value, or no significant difference."""
    p_label = "p" if row["correction"] == "none" else f"p_{row['correction']}"
    v, gap, n = row["published"], row["gap"], row["n_seeds"]
    if row["p_adjusted"] < alpha:
        return (f"{direction_word(gap, higher_is_better)} than the published {v:g} by {abs(gap):.2f} "
                f"({p_label}={row['p_adjusted']:.2g}, {n} seeds)")
    runs = "one published run" if row["n_runs"] == 1 else f"a published mean of {row['n_runs']} runs"
    plan = row["seeds_to_resolve"]
    more = (f"; about {plan} seeds would resolve a gap of {gap:+.2f}" if plan and plan > n else
            f"; no number of seeds resolves a gap of {gap:+.2f} against {runs}" if plan is None else "")
    outside = "" if row["inside"] else f"; outside our prediction interval before correcting over {row['n_comparisons']} cells"
    return f"no significant difference from the published {v:g} ({p_label}={row['p_adjusted']:.2g}){outside}{more}"


__all__ = ["COLUMNS", "PUBLISHED_COLUMNS", "load_published", "reproduce", "seeds_to_resolve"]
