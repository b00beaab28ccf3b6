"""Confusion matrices of the saved predictions, joint and per modality.

Counts come from :func:`spcl_diag.metrics.confusion_matrix` on ``predictions.npz`` (the
selected epoch), summed over the runs given; each row is normalised by its gold count, so
the diagonal is the recall of each class and a rare class (MELD's fear, disgust) is as
visible as a frequent one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from spcl_diag._deprecation import moved
from spcl_diag.plots.style import scope_label


def plot_confusion(counts: np.ndarray, class_names: Sequence[str], *, ax: Axes | None = None,
                   annotate: bool = True, cmap: str = "Blues") -> Axes:
    """Row-normalised heatmap of a ``[C, C]`` count matrix (gold rows, predicted columns)."""
    counts = np.asarray(counts)
    if counts.shape != (len(class_names), len(class_names)):
        raise ValueError(f"counts has shape {counts.shape}; expected ({len(class_names)}, {len(class_names)}).")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3.6))
    totals = counts.sum(1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    image = ax.imshow(share, cmap=cmap, vmin=0, vmax=1)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right", fontsize="small")
    ax.set_yticks(ticks, [f"{n} ({int(t)})" for n, t in zip(class_names, totals[:, 0])], fontsize="small")
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold (utterances)")
    if annotate:
        for i, j in np.ndindex(share.shape):
            if totals[i, 0]:
                ax.text(j, i, f"{share[i, j]:.2f}", ha="center", va="center", fontsize="x-small",
                        color="white" if share[i, j] > 0.6 else "black")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the gold class")
    return ax


def confusion_figure(run_dirs: Sequence[str | Path] | str | Path, *, split: str = "test",
                     scopes: Sequence[str] | None = None) -> Figure:
    """One confusion panel per scope (joint first, then each modality), summed over ``run_dirs``
    (:func:`~spcl_diag.runs.frames.confusion_counts`)."""
    from spcl_diag.runs.frames import confusion_counts  # reads the run folders (and imports torch)

    dirs = [run_dirs] if isinstance(run_dirs, (str, Path)) else list(run_dirs)
    totals, names = confusion_counts(dirs, split=split)
    order = [s for s in ("joint", "t", "a", "v") if s in totals] + [s for s in totals if s not in ("joint", "t", "a", "v")]
    shown = [s for s in order if scopes is None or s in scopes]
    fig, axes = plt.subplots(1, len(shown), figsize=(4.4 * len(shown), 4.0), squeeze=False)
    for ax, scope in zip(axes[0], shown):
        plot_confusion(totals[scope], names, ax=ax)
        ax.set_title(scope_label(scope), fontsize="medium")
        if ax is not axes[0][0]:
            ax.set_ylabel("")
    fig.suptitle(f"confusion on {split}, rows normalised ({len(dirs)} run{'s' * (len(dirs) != 1)} summed)",
                 fontsize="medium")
    fig.tight_layout()
    return fig


def __getattr__(name: str) -> Any:
    if name == "confusion_counts":  # it reads run folders: moved to runs/ (issue 26)
        return moved(__name__, name, ("spcl_diag.runs.frames",))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
