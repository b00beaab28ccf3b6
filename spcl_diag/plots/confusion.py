"""Confusion matrices of the saved predictions, joint and per modality.

Counts come from :func:`spcl_diag.metrics.confusion_matrix` on ``predictions.npz`` (the
selected epoch), summed over the runs given; each row is normalised by its gold count, so
the diagonal is the recall of each class and a rare class (MELD's fear, disgust) is as
visible as a frequent one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from spcl_diag.metrics.classification import confusion_matrix
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


def confusion_counts(run_dirs: Sequence[str | Path], *, split: str = "test") -> tuple[dict[str, np.ndarray], list[str]]:
    """Scope -> ``[C, C]`` counts summed over ``run_dirs``, and the class names."""
    from spcl_diag.runs.loading import load_predictions

    totals: dict[str, np.ndarray] = {}
    names: list[str] | None = None
    for run_dir in run_dirs:
        preds = load_predictions(run_dir)
        if f"{split}_labels" not in preds:
            raise ValueError(f"{run_dir}: predictions.npz has no {split} split; it has {sorted(preds)}.")
        labels = preds[f"{split}_labels"]
        n_classes = preds[f"{split}_probs_joint"].shape[1]
        these = [str(n) for n in preds["label_names"]] if "label_names" in preds else [f"class{c}" for c in range(n_classes)]
        if names is not None and these != names:
            raise ValueError(f"{run_dir}: classes {these} differ from the other runs' {names}.")
        names = these
        for key, probs in preds.items():
            if key.startswith(f"{split}_probs_"):
                scope = key.removeprefix(f"{split}_probs_")
                counts = confusion_matrix(labels, probs.argmax(1), n_classes=n_classes)
                totals[scope] = totals.get(scope, 0) + counts
    if names is None:
        raise ValueError("confusion_counts needs at least one run directory.")
    return totals, names


def confusion_figure(run_dirs: Sequence[str | Path] | str | Path, *, split: str = "test",
                     scopes: Sequence[str] | None = None) -> Figure:
    """One confusion panel per scope (joint first, then each modality), summed over ``run_dirs``."""
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
