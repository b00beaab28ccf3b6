"""Forest plot of the change against the baseline, with intervals and corrected significance.

The input is the table returned by :func:`spcl_diag.stats.compare` (one row per group and
arm): the paired difference to the baseline, its interval, and the p-value after the
multiple-comparison correction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation

from spcl_diag.metrics.registry import column_label
from spcl_diag.plots.style import ARM_COLORS


def plot_forest(
    comparison: pd.DataFrame,
    *,
    estimate: str = "diff",
    low: str = "diff_low",
    high: str = "diff_high",
    p_value: str = "p_adjusted",
    arm: str = "arm",
    label_by: Sequence[str] | None = None,
    alpha: float = 0.05,
    xlabel: str = "difference to baseline",
    ax: Axes | None = None,
    **marker_kws: Any,
) -> Axes:
    """One row per comparison: the difference (point) and its interval (line).

    A filled marker means the corrected p-value is below ``alpha``; a hollow one that it is
    not. The corrected p-value is written at the right end of each row.

    Parameters
    ----------
    comparison
        The table of :func:`spcl_diag.stats.compare`; rows with no ``estimate`` (the
        baseline itself) are left out.
    estimate, low, high
        Columns of the difference and its interval.
    p_value
        Column of the corrected p-value.
    arm
        Column naming the compared arm (colours the row).
    label_by
        Columns joined into each row's label; by default ``arm`` preceded by the group
        columns that vary (``backbone``, ``modalities``, ``dataset``, ``metric``). Metric
        columns are shown by :func:`~spcl_diag.metrics.registry.column_label`.
    alpha
        Significance level for the filled markers.
    xlabel
        Label of the horizontal axis. When the table has ``higher_is_better`` (as
        :func:`~spcl_diag.stats.compare` writes it), the metric's declared direction is added:
        to the axis label when every row shares it, else to each row's label; a metric with
        no better side gets no arrow.
    ax
        Axes to draw on (a new figure if omitted).
    **marker_kws
        Passed to ``Axes.plot`` for the markers.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.lines[0]`` holds the estimates from top to bottom (x data), row ``i`` at y = -i.
    """
    missing = sorted({estimate, low, high, p_value, arm} - set(comparison.columns))
    if missing:
        raise ValueError(f"plot_forest: comparison lacks column(s) {missing}; found {list(comparison.columns)}.")
    rows = comparison[comparison[estimate].notna()].reset_index(drop=True)
    if rows.empty:
        raise ValueError("plot_forest: no row with a difference to plot (only the baseline?).")
    if label_by is None:
        varying = [c for c in ("dataset", "backbone", "modalities", "metric") if c in rows and rows[c].nunique() > 1]
        label_by = [*varying, arm]
    shown = rows[list(label_by)].astype(str)
    if "metric" in shown:
        shown["metric"] = shown["metric"].map(column_label)  # "test wF1", not "test_wf1"
    labels = shown.agg("  ".join, axis=1).tolist()
    directions = [_direction_text(v) for v in rows["higher_is_better"]] if "higher_is_better" in rows else []
    if directions and len(set(directions)) == 1:
        xlabel = f"{xlabel} ({directions[0]})" if directions[0] else xlabel
    elif directions:
        labels = [f"{label} ({d})" if d else label for label, d in zip(labels, directions)]
    y = -np.arange(len(rows), dtype=float)
    colors = [ARM_COLORS.get(a, "0.3") for a in rows[arm]]
    significant = rows[p_value].to_numpy(dtype=float) < alpha
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 0.9 + 0.32 * len(rows)))
    ax.hlines(y, rows[low].to_numpy(dtype=float), rows[high].to_numpy(dtype=float), colors=colors, lw=2)
    kws = {"linestyle": "none", "marker": "o", "markersize": 7, "color": "0.2", **marker_kws}
    ax.plot(rows[estimate].to_numpy(dtype=float), y, zorder=3, markerfacecolor="none", **kws)
    ax.scatter(rows[estimate].to_numpy(dtype=float)[significant], y[significant], s=36, color=np.asarray(colors)[significant], zorder=4)
    ax.axvline(0, color="0.5", lw=0.8, ls="--", zorder=0)
    ax.set_yticks(y, labels)
    ax.set_ylim(y[-1] - 0.7, 0.7)
    for yi, p in zip(y, rows[p_value].to_numpy(dtype=float)):
        ax.annotate(_p_text(p), (1.0, yi), xycoords=("axes fraction", "data"), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize="x-small")
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))  # the default crowds signed 3-decimal labels
    legend = ax.legend(
        handles=[
            Line2D([], [], marker="o", ls="none", color="0.2", label=f"corrected p < {alpha:g}"),
            Line2D([], [], marker="o", ls="none", color="0.2", markerfacecolor="none", label="not significant"),
        ],
        loc="upper center", ncol=2, fontsize="x-small", frameon=False,
    )
    # anchored in points below the axes, under the tick labels and the axis label at any figure height
    legend.set_bbox_to_anchor((0.5, 0.0), transform=ax.transAxes + ScaledTranslation(0, -34 / 72, ax.figure.dpi_scale_trans))
    return ax


def _direction_text(higher_is_better: Any) -> str:
    """``"higher is better"``, ``"lower is better"`` or ``""`` for a metric with no better side."""
    if higher_is_better is None or (isinstance(higher_is_better, float) and np.isnan(higher_is_better)):
        return ""
    return "higher is better" if bool(higher_is_better) else "lower is better"


def _p_text(p: float) -> str:
    if np.isnan(p):
        return "p = n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
