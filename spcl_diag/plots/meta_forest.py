"""Forest plot of a random-effects meta-analysis: one row per cell, the pooled diamond, the prediction interval.

The input is :func:`spcl_diag.stats.meta_analysis.meta_table`: tidy rows with ``kind``
``"cell"``, ``"pooled"`` and ``"prediction"``.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Polygon

KINDS = ("cell", "pooled", "prediction")


def plot_meta_forest(
    table: pd.DataFrame,
    *,
    xlabel: str = "difference to baseline",
    ax: Axes | None = None,
    **marker_kws: Any,
) -> Axes:
    """Cells as squares sized by their random-effects weight with their interval, the pooled
    estimate as a diamond spanning its confidence interval, and below it the prediction interval
    for a new cell as a bar.

    Parameters
    ----------
    table
        :func:`~spcl_diag.stats.meta_analysis.meta_table` rows (``kind``, ``cell``, ``diff``,
        ``ci_low``, ``ci_high``, ``weight``).
    xlabel
        Label of the horizontal axis.
    ax
        Axes to draw on (a new figure if omitted).
    **marker_kws
        Passed to ``Axes.scatter`` for the cell squares.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.collections[0]`` holds the cell estimates (row ``i`` at y = -i), ``ax.patches[0]``
        the diamond, ``ax.lines[0]`` the prediction interval (x data: its two ends).
    """
    missing = sorted({"kind", "cell", "diff", "ci_low", "ci_high", "weight"} - set(table.columns))
    if missing:
        raise ValueError(f"plot_meta_forest: table lacks column(s) {missing}; pass meta_table(result).")
    cells = table[table["kind"] == "cell"].reset_index(drop=True)
    pooled = table[table["kind"] == "pooled"]
    if cells.empty or len(pooled) != 1:
        raise ValueError("plot_meta_forest: the table needs cell rows and one pooled row (meta_table(result)).")
    prediction = table[table["kind"] == "prediction"]
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 1.4 + 0.32 * len(cells)))
    y = -np.arange(len(cells), dtype=float)
    weights = cells["weight"].to_numpy(float)
    kws = {"marker": "s", "color": "0.2", "zorder": 3, **marker_kws}
    ax.scatter(cells["diff"], y, s=20 + 180 * weights / weights.max(), **kws)
    ax.hlines(y, cells["ci_low"], cells["ci_high"], colors="0.2", lw=1.2)
    row = pooled.iloc[0]
    yp = y[-1] - 1.2
    ax.add_patch(Polygon([(row["ci_low"], yp), (row["diff"], yp + 0.3), (row["ci_high"], yp), (row["diff"], yp - 0.3)],
                         closed=True, color="#CC3311", zorder=3))
    labels = [*cells["cell"].astype(str), str(row["cell"])]
    ticks = [*y, yp]
    if len(prediction) and np.isfinite(prediction["ci_low"].iloc[0]):
        ypi = yp - 0.8
        ax.plot([prediction["ci_low"].iloc[0], prediction["ci_high"].iloc[0]], [ypi, ypi], color="#CC3311", lw=2,
                solid_capstyle="butt")
        labels.append(str(prediction["cell"].iloc[0]))
        ticks.append(ypi)
    ax.axvline(0, color="0.5", lw=0.8, ls="--", zorder=0)
    ax.set_yticks(ticks, labels)
    ax.set_ylim(min(ticks) - 0.7, 0.7)
    ax.set_xlabel(xlabel)
    return ax


__all__ = ["plot_meta_forest"]
