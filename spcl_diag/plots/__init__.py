"""Figure functions over the tidy run tables.

Axes-level functions take a tidy DataFrame and ``ax=None`` and return the Axes; figure-level
ones build their own Figure and return it. Nothing here shows or saves a figure, or edits
rcParams.
"""

from __future__ import annotations

from spcl_diag.plots.aggregate import aggregate_figure, aggregate_scores
from spcl_diag.plots.confusion import confusion_counts, confusion_figure, plot_confusion
from spcl_diag.plots.curves import (
    grad_share_curves,
    modality_curves,
    plot_curves,
    plot_kept_fraction,
    select_rows,
)
from spcl_diag.plots.difficulty import (
    confidence_frame,
    difficulty_frame,
    plot_difficulty_by_modality,
    plot_difficulty_heatmap,
)
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
from spcl_diag.plots.style import ARM_COLORS, MODALITY_COLORS

__all__ = [
    "ARM_COLORS",
    "MODALITY_COLORS",
    "aggregate_figure",
    "aggregate_scores",
    "cd_diagram",
    "confidence_figure",
    "confidence_frame",
    "confusion_counts",
    "confusion_figure",
    "curriculum_figure",
    "difficulty_frame",
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
    "select_rows",
    "standard_figures",
]
