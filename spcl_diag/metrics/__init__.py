"""Imbalance metrics: pure functions over arrays, each with its formula and source.

The registry :data:`METRICS` lists them with their properties. Scoring a trained model
(masked and permuted evaluation, linear probes) is in :mod:`spcl_diag.evaluation`, which
produces the arrays these functions take.
"""

from __future__ import annotations

from spcl_diag.metrics.classification import (
    accuracy,
    classification_scores,
    confusion_matrix,
    macro_f1,
    per_class_f1,
    weighted_f1,
)
from spcl_diag.metrics.contribution import (
    conditional_utilisation,
    modality_subsets,
    perceptual_score,
    shapley_values,
)
from spcl_diag.metrics.disparity import discrepancy_ratio, disparity_ratio
from spcl_diag.metrics.gradients import grad_norm_share, grad_norm_share_table
from spcl_diag.metrics.per_class import kept_by_class, per_class_contribution
from spcl_diag.metrics.registry import METRICS, MetricSpec
from spcl_diag.metrics.trajectory import (
    TrajectorySummary,
    area_under_curve,
    final_value,
    first_balanced_epoch,
    summarise_trajectory,
)
from spcl_diag.metrics.unimodal import (
    spread,
    unimodal_accuracy,
    unimodal_loss_disparity,
    unimodal_macro_f1,
    unimodal_spread,
    unimodal_wf1,
)

__all__ = [
    "METRICS",
    "MetricSpec",
    "TrajectorySummary",
    "accuracy",
    "area_under_curve",
    "classification_scores",
    "conditional_utilisation",
    "confusion_matrix",
    "discrepancy_ratio",
    "disparity_ratio",
    "final_value",
    "first_balanced_epoch",
    "grad_norm_share",
    "grad_norm_share_table",
    "kept_by_class",
    "macro_f1",
    "modality_subsets",
    "per_class_contribution",
    "per_class_f1",
    "perceptual_score",
    "shapley_values",
    "spread",
    "summarise_trajectory",
    "unimodal_accuracy",
    "unimodal_loss_disparity",
    "unimodal_macro_f1",
    "unimodal_spread",
    "unimodal_wf1",
    "weighted_f1",
]
