"""``compare_metrics``: :func:`~spcl_diag.stats.comparison.compare` for several metrics, each its own family.

The report's comparison tables, ``analyses/`` and any study that reports several metrics
side by side call this one function, so that every metric is corrected for multiple
comparisons within itself (Holm over the arms and groups of that metric) and never
against the others, and the runs that lack a metric (a modality a run does not have) are
left out of that metric only, not counted as missing data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from spcl_diag.stats.comparison import compare


def compare_metrics(
    results: pd.DataFrame,
    metrics: Sequence[str],
    *,
    baseline: str = "none",
    by: Sequence[str] | None = None,
    rng: np.random.Generator,
    **options: Any,
) -> pd.DataFrame:
    """One :func:`~spcl_diag.stats.comparison.compare` table per metric, stacked in the order of ``metrics``.

    Parameters
    ----------
    results
        One row per run (``load_runs(...).results``, or any frame :func:`compare` reads).
    metrics
        The metric columns; each is its own family for the correction.
    baseline, by
        As in :func:`compare`.
    rng
        One generator for all the metrics, drawn from in the order of ``metrics``.
    **options
        Any other keyword of :func:`compare` (``alpha``, ``correction``, ``test``, ...).

    Returns
    -------
    pandas.DataFrame
        The rows of every metric's table (its ``metric`` column tells them apart).

    Raises
    ------
    ValueError
        ``metrics`` is empty, or :func:`compare` refuses a metric's runs.

    Examples
    --------
    >>> frame = pd.DataFrame({"curriculum": ["none", "spcl"] * 3, "seed": [0, 0, 1, 1, 2, 2],
    ...                       "test_wf1": [0.50, 0.55, 0.52, 0.56, 0.49, 0.53],
    ...                       "test_acc": [0.60, 0.61, 0.62, 0.62, 0.58, 0.60]})
    >>> table = compare_metrics(frame, ["test_wf1", "test_acc"], by=(), rng=np.random.default_rng(0))
    >>> table.loc[table["arm"] == "spcl", "metric"].tolist()
    ['test_wf1', 'test_acc']
    """
    if not metrics:
        raise ValueError("compare_metrics: name at least one metric column.")
    parts = [compare(results[results[m].notna()], m, baseline=baseline, by=by, rng=rng, **options) for m in metrics]
    return pd.concat(parts, ignore_index=True)
