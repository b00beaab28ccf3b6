"""Figure functions over the tidy run tables.

Axes-level functions take a tidy DataFrame and ``ax=None`` and return the Axes; figure-level
ones build their own Figure and return it. Nothing here shows a figure or edits rcParams;
:func:`~spcl_diag.plots.saving.save_figures` is the one writer of figure files (the report's
and the ``figures`` command's). The frames built from run folders (:func:`~spcl_diag.runs.frames.difficulty_frame`,
``confidence_frame``, ``confusion_counts``) are :mod:`spcl_diag.runs.frames`'s; their old names
here still resolve, with a DeprecationWarning.
"""

from __future__ import annotations

from typing import Any

from spcl_diag._deprecation import moved
from spcl_diag.plots.aggregate import aggregate_figure, aggregate_scores
from spcl_diag.plots.confusion import confusion_figure, plot_confusion
from spcl_diag.plots.curves import (
    grad_share_curves,
    modality_curves,
    plot_curves,
    plot_kept_fraction,
    select_rows,
)
from spcl_diag.plots.difficulty import plot_difficulty_by_modality, plot_difficulty_heatmap
from spcl_diag.plots.figures import (
    confidence_figure,
    curriculum_figure,
    forest_figure,
    pair_gap_figure,
    standard_figures,
)
from spcl_diag.plots.forest import plot_forest
from spcl_diag.plots.gap import pair_gaps, plot_pair_gap
from spcl_diag.plots.per_class import per_class_figure, plot_class_heatmap
from spcl_diag.plots.ranking import cd_diagram
from spcl_diag.plots.saving import save_figures
from spcl_diag.plots.style import ARM_COLORS, MODALITY_COLORS

__all__ = [
    "ARM_COLORS",
    "MODALITY_COLORS",
    "aggregate_figure",
    "aggregate_scores",
    "cd_diagram",
    "confidence_figure",
    "confusion_figure",
    "curriculum_figure",
    "forest_figure",
    "grad_share_curves",
    "modality_curves",
    "pair_gap_figure",
    "pair_gaps",
    "per_class_figure",
    "plot_class_heatmap",
    "plot_confusion",
    "plot_curves",
    "plot_difficulty_by_modality",
    "plot_difficulty_heatmap",
    "plot_forest",
    "plot_kept_fraction",
    "plot_pair_gap",
    "save_figures",
    "select_rows",
    "standard_figures",
]


def __getattr__(name: str) -> Any:
    if name in ("confidence_frame", "confusion_counts", "difficulty_frame"):  # moved to runs/ (issue 26)
        return moved(__name__, name, ("spcl_diag.runs.frames",))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
