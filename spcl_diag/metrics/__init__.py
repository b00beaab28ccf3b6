"""Imbalance metrics: pure functions over arrays, each with its formula and source.

The registry :data:`METRICS` lists them with their properties. Model-dependent code
(masked and permuted evaluation of a trained model) is in :mod:`spcl_diag.metrics.masking`,
which is not imported here so that the training loop can import the formulas.
"""

from __future__ import annotations

from spcl_diag.metrics.classification import accuracy, classification_scores, weighted_f1
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
    "discrepancy_ratio",
    "disparity_ratio",
    "final_value",
    "first_balanced_epoch",
    "grad_norm_share",
    "grad_norm_share_table",
    "kept_by_class",
    "modality_subsets",
    "per_class_contribution",
    "perceptual_score",
    "shapley_values",
    "spread",
    "summarise_trajectory",
    "unimodal_accuracy",
    "unimodal_loss_disparity",
    "unimodal_spread",
    "unimodal_wf1",
    "weighted_f1",
]
