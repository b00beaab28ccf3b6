"""Seed-paired differences of one arm against the baseline, cell by cell.

The one pairing step of :func:`~spcl_diag.stats.meta_analysis.meta_analysis` and of the
sequential decisions of a batch (:mod:`spcl_diag.batch.sequential`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from spcl_diag.stats.comparison import check_seed_roles

DEFAULT_CELLS: tuple[str, ...] = ("dataset", "backbone", "modalities")


def paired_differences(
    frame: pd.DataFrame,
    metric: str,
    *,
    baseline: str,
    arm: str,
    cells: Sequence[str] = DEFAULT_CELLS,
    arm_column: str = "curriculum",
    pair_on: str = "seed",
    caller: str = "paired_differences",
) -> dict[tuple, pd.Series]:
    """``{cell key: arm - baseline by seed}`` over the seeds both have, finished runs only.

    Seeds are in ascending order. Cells where either side has no run are absent.

    Raises
    ------
    ValueError
        A missing column, a mix of tuning and evaluation seeds, or two runs of one
        (cell, arm, seed) (a swept field belongs in ``cells``).

    Examples
    --------
    >>> frame = pd.DataFrame({"dataset": "s", "backbone": "b", "modalities": "tav",
    ...                       "curriculum": ["none", "spcl"] * 2, "seed": [0, 0, 1, 1],
    ...                       "test_wf1": [0.5, 0.6, 0.5, 0.55]})
    >>> paired_differences(frame, "test_wf1", baseline="none", arm="spcl")[("s", "b", "tav")].round(3).tolist()
    [0.1, 0.05]
    """
    cells = list(cells)
    missing = [c for c in (*cells, arm_column, pair_on, metric) if c not in frame.columns]
    if missing:
        raise ValueError(f"{caller}: the runs lack column(s) {', '.join(missing)}.")
    if "status" in frame.columns:
        frame = frame[frame["status"].astype(str) == "ok"]
    check_seed_roles(frame, caller)
    frame = frame[frame[arm_column].astype(str).isin([arm, baseline])]
    frame = frame.assign(_value=pd.to_numeric(frame[metric], errors="coerce"),
                         _arm=frame[arm_column].astype(str)).dropna(subset=["_value"])
    keys = [*cells, arm_column, pair_on]
    duplicated = frame.duplicated(keys, keep=False)
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        where = ", ".join(f"{c}={first[c]}" for c in keys)
        raise ValueError(f"{caller}: {int(duplicated.sum())} runs share their ({', '.join(keys)}), e.g. {where}; "
                         "add the differing config field to cells= or filter the frame first.")
    out: dict[tuple, pd.Series] = {}
    for key, rows in frame.groupby(cells, sort=True, dropna=False) if cells else [((), frame)]:
        key = key if isinstance(key, tuple) else (key,)
        values = rows.pivot(index=pair_on, columns="_arm", values="_value")
        if arm in values and baseline in values:
            paired = values[[arm, baseline]].dropna().sort_index()
            if len(paired):
                out[key] = (paired[arm] - paired[baseline]).rename(metric)
    return out


__all__ = ["DEFAULT_CELLS", "paired_differences"]
