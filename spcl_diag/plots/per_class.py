"""Heatmaps of the per-class modality diagnostics.

Inputs are the tidy tables of :func:`~spcl_diag.metrics.per_class.per_class_contribution`
(``class_name, modality, metric, value``) and :func:`~spcl_diag.metrics.per_class.kept_by_class`
(``epoch, class_name, kept_fraction``).
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from spcl_diag.modalities import MODALITY_NAMES


def plot_class_heatmap(
    data: pd.DataFrame, *, row: str, col: str, value: str, ax: Axes | None = None, annotate: bool = True,
    **imshow_kws: Any,
) -> Axes:
    """One cell per (row, col) level: ``value`` as colour (and as text with ``annotate``).

    Rows and columns keep the order in which they first appear in ``data``. The image is
    ``ax.images[0]``; its array is the pivoted ``value``.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.0, 3.2))
    rows = list(dict.fromkeys(data[row]))
    cols = list(dict.fromkeys(data[col]))
    grid = data.pivot_table(index=row, columns=col, values=value, aggfunc="mean", dropna=False).reindex(index=rows, columns=cols)
    kws = {"aspect": "auto", "cmap": "viridis", **dict(imshow_kws)}
    image = ax.imshow(grid.to_numpy(float), **kws)
    ax.set_yticks(range(len(rows)), [str(r) for r in rows])
    ax.set_xticks(range(len(cols)), [MODALITY_NAMES.get(str(c), str(c)) for c in cols])
    if annotate and grid.size <= 120:
        for (i, j), v in np.ndenumerate(grid.to_numpy(float)):
            if np.isfinite(v):
                red, green, blue, _ = image.cmap(image.norm(v))
                dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.figure.colorbar(image, ax=ax, fraction=0.05)
    return ax


def per_class_figure(contribution: pd.DataFrame, kept: pd.DataFrame) -> Figure:
    """Three panels: Shapley contribution per class and modality, unimodal accuracy, kept fraction per epoch."""
    fig, axes = plt.subplots(1, 3, figsize=(13.0, 3.6), gridspec_kw={"width_ratios": [1, 1, 1.6]})
    shapley = contribution[contribution["metric"] == "shapley_acc"]
    plot_class_heatmap(shapley, row="class_name", col="modality", value="value", ax=axes[0], cmap="RdBu_r",
                       vmin=-np.nanmax(np.abs(shapley["value"])), vmax=np.nanmax(np.abs(shapley["value"])))
    axes[0].set_title("Shapley contribution to class accuracy", fontsize=10)
    unimodal = contribution[contribution["metric"] == "unimodal_acc"]
    plot_class_heatmap(unimodal, row="class_name", col="modality", value="value", ax=axes[1], vmin=0, vmax=1)
    axes[1].set_title("unimodal head accuracy per class", fontsize=10)
    plot_class_heatmap(kept, row="class_name", col="epoch", value="kept_fraction", ax=axes[2], annotate=False, vmin=0, vmax=1)
    epochs = sorted(kept["epoch"].unique())
    shown = range(0, len(epochs), max(1, len(epochs) // 10))
    axes[2].set_xticks(list(shown), [str(epochs[i]) for i in shown])
    axes[2].set_xlabel("epoch")
    axes[2].set_title("fraction of the class kept by the curriculum", fontsize=10)
    fig.tight_layout()
    return fig


__all__ = ["per_class_figure", "plot_class_heatmap"]
