"""Difficulty figures: trajectories of every training utterance, and difficulty against the
modality that is most confident.

The frames they draw are built from run directories by :mod:`spcl_diag.runs.frames`
(:func:`~spcl_diag.runs.frames.difficulty_frame`, :func:`~spcl_diag.runs.frames.confidence_frame`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from spcl_diag._deprecation import moved
from spcl_diag.plots.style import MODALITY_COLORS, order_levels, scope_label

NDArrayLike = Sequence[int] | np.ndarray


def plot_difficulty_heatmap(
    data: pd.DataFrame,
    *,
    value: str = "d",
    show_kept: bool = True,
    order: NDArrayLike | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    ax: Axes | None = None,
    **imshow_kws: Any,
) -> Axes:
    """Heatmap of one run's difficulty: training utterances (rows) by epoch (columns).

    Parameters
    ----------
    data
        :func:`difficulty_frame` of one run.
    value
        ``d`` (difficulty), ``l`` or ``c``.
    show_kept
        Grey out the cells of utterances the curriculum left out of the loss (``v`` false).
    order
        Utterance indices from top to bottom; by default sorted by mean ``value`` over
        epochs, easiest on top. Pass one run's order to another to compare them row by row.
    vmin, vmax
        Colour limits (log scale); share them between panels that are compared.
    ax
        Axes to draw on (a new figure if omitted).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.images[0]`` holds the ``[utterances, epochs]`` array as drawn.
    """
    grid = data.pivot(index="utterance", columns="epoch", values=value)
    if order is None:
        order = grid.mean(axis=1).sort_values(kind="stable").index.to_numpy()
    grid = grid.loc[order]
    values = np.ma.masked_invalid(grid.to_numpy())
    if show_kept:
        kept = data.pivot(index="utterance", columns="epoch", values="v").loc[order].to_numpy(dtype=bool)
        values = np.ma.masked_where(~kept, values)
    positive = values.compressed()[values.compressed() > 0]
    low = vmin if vmin is not None else (float(np.quantile(positive, 0.02)) if positive.size else 1e-3)
    high = vmax if vmax is not None else (float(np.quantile(positive, 0.98)) if positive.size else 1.0)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.6))
    cmap = plt.get_cmap("viridis").with_extremes(bad="0.88")
    epochs = grid.columns.to_numpy()
    kws = {"aspect": "auto", "cmap": cmap, **imshow_kws}  # default interpolation antialiases many rows
    image = ax.imshow(
        np.ma.maximum(values, low * 1e-3), norm=LogNorm(vmin=low, vmax=max(high, low * 1.01)),
        extent=(epochs[0] - 0.5, epochs[-1] + 0.5, len(order), 0), **kws,
    )
    bar = ax.figure.colorbar(image, ax=ax, label=f"{value} (log scale)", fraction=0.05, pad=0.02)
    bar.ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    bar.ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("epoch (pale: left out of the loss)" if show_kept else "epoch")  # no legend: every cell is data
    ax.set_ylabel("training utterance (by mean difficulty)")
    return ax


def plot_difficulty_by_modality(
    data: pd.DataFrame,
    *,
    y: str = "d",
    arms: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Box plots of difficulty grouped by arm, one box per most-confident modality.

    Parameters
    ----------
    data
        :func:`~spcl_diag.runs.frames.confidence_frame` rows (columns ``curriculum``, ``most_confident``, ``y``).
    y
        ``d``, ``l`` or ``c``.
    arms
        Arms to show, left to right (default: all present).
    ax
        Axes to draw on (a new figure if omitted).

    Returns
    -------
    matplotlib.axes.Axes
        Box medians are ``ax.lines`` labelled ``median <arm> <modality>``.
    """
    arm_levels = list(arms) if arms is not None else order_levels("curriculum", list(pd.unique(data["curriculum"])))
    modalities = order_levels("scope", list(pd.unique(data["most_confident"])))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 + 1.1 * len(arm_levels) * len(modalities) / 2, 3.4))
    width = 0.8 / len(modalities)
    for i, arm in enumerate(arm_levels):
        for j, m in enumerate(modalities):
            values = data.loc[(data["curriculum"] == arm) & (data["most_confident"] == m), y].dropna().to_numpy()
            if values.size == 0:
                continue
            position = i - 0.4 + width * (j + 0.5)
            parts = ax.boxplot(
                values, positions=[position], widths=width * 0.85, showfliers=False, patch_artist=True,
                medianprops={"color": "black"},
            )
            parts["boxes"][0].set(facecolor=MODALITY_COLORS[m], alpha=0.75)
            parts["medians"][0].set_label(f"median {arm} {m}")
    ax.set_xticks(range(len(arm_levels)), arm_levels)
    ax.set_xlim(-0.6, len(arm_levels) - 0.4)
    ax.set_ylabel(f"SPCL difficulty {y} (test utterances)")
    ax.legend(
        handles=[Patch(facecolor=MODALITY_COLORS[m], alpha=0.75, label=scope_label(m)) for m in modalities],
        title="most confident", frameon=False, fontsize="small", title_fontsize="small",
        loc="upper left", bbox_to_anchor=(1.0, 1.0),
    )
    return ax


def __getattr__(name: str) -> Any:
    if name in ("difficulty_frame", "confidence_frame"):  # they read run folders: moved to runs/ (issue 26)
        return moved(__name__, name, ("spcl_diag.runs.frames",))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
