r"""Reproduction verdicts: our seeds against the numbers a paper published.

For every cell (backbone, dataset, modalities, arm) of the runs that a table of published
numbers covers, :func:`reproduce` gives our mean over seeds with its Student-t interval,
whether the published value lies inside it, a one-sample t test of the published value
against our seeds, and how many seeds would resolve a gap of the observed size.

The table (:func:`load_published`) has one row per published number, with the columns
``backbone, dataset, modalities, arm, metric, value, source``: ``metric`` is a column of
the run results (``test_wf1``, ``test_acc``), ``value`` is in percent as papers print it,
and ``source`` is the citation. The package ships ``spcl_diag/data/published.csv``.

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

from spcl_diag.stats._common import check_confidence_level
from spcl_diag.stats.intervals import t_interval
from spcl_diag.stats.paired_tests import paired_t_test
from spcl_diag.stats.power import plan_seeds

PUBLISHED_COLUMNS: tuple[str, ...] = ("backbone", "dataset", "modalities", "arm", "metric", "value", "source")
CELL_COLUMNS: tuple[str, ...] = ("backbone", "dataset", "modalities", "arm", "metric")
BUILTIN_BENCHMARKS: tuple[str, ...] = ("synthetic", "iemocap-text", "meld-text")
COLUMNS: tuple[str, ...] = (
    *CELL_COLUMNS, "run_dataset", "published", "source", "n_seeds", "seeds", "mean", "ci_low", "ci_high",
    "inside", "gap", "t", "p", "seeds_to_resolve", "verdict", "note",
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
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}; a published table has {', '.join(PUBLISHED_COLUMNS)}.")
    problems = []
    values = pd.to_numeric(frame["value"], errors="coerce")
    for i, row in frame.iterrows():
        where = f"row {int(i) + 2}"  # 1-based, after the header line
        if not (0 <= values[i] <= 100):
            problems.append(f"{where}, column 'value': expected a percentage in [0, 100], found {row['value']!r}")
        if not isinstance(row["source"], str) or not row["source"].strip():
            problems.append(f"{where}, column 'source': every number needs its citation")
        for column in ("backbone", "dataset", "modalities", "arm", "metric"):
            if not isinstance(row[column], str) or not row[column].strip():
                problems.append(f"{where}, column {column!r}: empty")
    repeated = frame.duplicated(list(CELL_COLUMNS), keep=False)
    if repeated.any():
        problems.append(f"rows {[int(i) + 2 for i in frame.index[repeated]]}: the same cell is given more than once")
    if problems:
        raise ValueError(f"{name}: invalid published table:\n  - " + "\n  - ".join(problems))
    out = frame.copy()
    out["value"] = values.astype(float)
    out["modalities"] = out["modalities"].map(lambda s: "".join(sorted(s, key="tav".index)) if set(s) <= set("tav") else s)
    return out


def reproduce(
    runs: Any,
    published: str | Path | pd.DataFrame | None = None,
    *,
    dataset_names: Mapping[str, str] | None = None,
    confidence_level: float = 0.95,
    power: float = 0.8,
) -> pd.DataFrame:
    r"""Compare our runs with published numbers, cell by cell.

    Parameters
    ----------
    runs
        :class:`~spcl_diag.runs.loading.RunTables`, its ``results`` frame or a folder of runs.
        Failed runs are left out (and counted in ``note``).
    published
        A published table (path or frame with :data:`PUBLISHED_COLUMNS`); ``None`` uses the
        shipped ``spcl_diag/data/published.csv``.
    dataset_names
        Our ``dataset`` value -> the published dataset name, e.g.
        ``{"/data/IEMOCAP_features.pkl": "IEMOCAP"}``. Without an entry a run's dataset
        must equal the published name (case-insensitive).
    confidence_level
        Coverage of the interval; the test's level is :math:`\alpha = 1 -` ``confidence_level``,
        so "inside the interval" and ":math:`p \ge \alpha`" always agree.
    power
        Power for ``seeds_to_resolve``.

    Returns
    -------
    pandas.DataFrame
        One row per covered cell (:data:`COLUMNS`), scores in percent: ``mean``, ``ci_low``,
        ``ci_high`` over our seeds, ``inside`` (published value in the interval), ``gap`` =
        mean - published, ``t`` and ``p`` of the one-sample t test, ``seeds_to_resolve``
        (seeds for which a paired t test at level :math:`\alpha` detects a gap of this size
        with probability ``power``, :func:`~spcl_diag.stats.power.plan_seeds`), ``verdict``.

    Notes
    -----
    The one-sample t test of :math:`H_0: \mu = v` (the published value) is the paired t
    test of our scores against the constant :math:`v`:
    :math:`t = (\bar x - v) / (s / \sqrt n)` with :math:`n - 1` degrees of freedom, and the
    effect size of the seed plan is :math:`d = (\bar x - v) / s`. A published number is one
    run (or an unstated mean); the test treats it as exact, which favours a verdict of
    "different": read ``gap`` beside ``p``.

    Examples
    --------
    >>> ours = pd.DataFrame({"dataset": "IEMOCAP", "backbone": "mmgcn", "modalities": "tav",
    ...                      "curriculum": "none", "balancing": "none", "seed": [0, 1, 2, 3],
    ...                      "status": "ok", "test_wf1": [0.612, 0.618, 0.605, 0.622]})
    >>> row = reproduce(ours).iloc[0]
    >>> round(float(row["mean"]), 2), bool(row["inside"]), row["verdict"]
    (61.42, False, 'below the published 62.67 by 1.25 (p=0.044, 4 seeds)')
    """
    from spcl_diag.stats.compare import check_seed_roles, results_frame

    check_confidence_level(confidence_level)
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
        records.append(_cell_row(cell._asdict(), rows, confidence_level=confidence_level, power=power))
    out = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    out.attrs["confidence_level"] = confidence_level
    return out


def _cell_row(cell: dict[str, Any], rows: pd.DataFrame, *, confidence_level: float, power: float) -> dict[str, Any]:
    ok = rows[rows["status"].astype(str) == "ok"] if "status" in rows.columns else rows
    repeated = ok["seed"].duplicated(keep=False)
    where = f"{cell['backbone']}/{cell['dataset']}/{cell['modalities']}/{cell['arm']}"
    if repeated.any():
        raise ValueError(
            f"reproduce: cell {where} has several runs with seed {ok.loc[repeated, 'seed'].iloc[0]}; the runs differ "
            "in a setting outside backbone, dataset, modalities and arm: filter them first."
        )
    values = pd.to_numeric(ok[cell["metric"]], errors="coerce")
    x = 100 * values[values.notna()].to_numpy(float)
    seeds = sorted(ok.loc[values.notna(), "seed"].tolist())
    v, alpha = float(cell["value"]), 1 - confidence_level
    notes = []
    if len(ok) < len(rows):
        notes.append(f"{len(rows) - len(ok)} failed run(s) left out")
    run_datasets = sorted(set(rows["dataset"].astype(str)))
    if set(run_datasets) & set(BUILTIN_BENCHMARKS):
        notes.append("built-in benchmark: not comparable to published numbers")
    row: dict[str, Any] = {
        **{c: cell[c] for c in CELL_COLUMNS}, "run_dataset": ", ".join(run_datasets), "published": v,
        "source": cell["source"], "n_seeds": len(x), "seeds": ",".join(map(str, seeds)), "note": "; ".join(notes),
    }
    if len(x) == 0:
        return {**row, "verdict": "no finished runs"}
    row.update(mean=float(x.mean()), gap=float(x.mean() - v))
    if len(x) < 2 or np.all(x == x[0]):
        why = "one seed" if len(x) < 2 else f"the same score on all {len(x)} seeds"
        return {**row, "verdict": f"no interval ({why})"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        interval = t_interval(x, confidence_level=confidence_level)
        test = paired_t_test(x, np.full_like(x, v))
        plan = plan_seeds(x, np.full_like(x, v), test="t", power=power, alpha=alpha, correction="none")
    inside = interval.contains(v)
    row.update(ci_low=interval.low, ci_high=interval.high, inside=inside, t=test.statistic, p=test.pvalue,
               seeds_to_resolve=plan.n_seeds)
    level = f"{100 * confidence_level:g}%"
    if inside:
        more = f"; about {plan.n_seeds} seeds would resolve a gap of {row['gap']:+.2f}" if plan.n_seeds else ""
        row["verdict"] = f"consistent: published {v:g} inside our {level} interval (p={test.pvalue:.2g}){more}"
    else:
        side = "below" if row["gap"] < 0 else "above"
        row["verdict"] = f"{side} the published {v:g} by {abs(row['gap']):.2f} (p={test.pvalue:.2g}, {len(x)} seeds)"
    assert inside == (test.pvalue >= alpha) or math.isclose(test.pvalue, alpha, rel_tol=1e-6)
    return row


__all__ = ["COLUMNS", "PUBLISHED_COLUMNS", "load_published", "reproduce"]
