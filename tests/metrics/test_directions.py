"""Every metric has a declared direction, and run-table columns find theirs."""

from __future__ import annotations

import pytest

from spcl_diag.metrics.registry import COLUMN_DIRECTIONS, METRICS, metric_direction
from spcl_diag.stats import infer_higher_is_better

# the metric columns of a late-fusion tav run (load_runs(...).results)
RUN_COLUMNS = (
    "dev_acc", "dev_wf1", "dev_loss", "dev_gold_prob", "dev_acc_a", "dev_wf1_t", "dev_loss_v", "dev_gold_prob_t",
    "test_acc", "test_wf1", "test_loss", "test_gold_prob", "test_acc_t", "test_wf1_a", "test_loss_a",
    "test_conditional_utilisation_a", "test_disparity_ratio_t", "test_perceptual_score_v", "test_shapley_wf1_a",
    "test_unimodal_wf1_spread", "test_unimodal_acc_spread",
)


def test_every_registry_metric_has_a_direction_through_its_column_name():
    for name, spec in METRICS.items():
        assert metric_direction(f"test_{name}") is spec.higher_is_better, name
        assert metric_direction(f"test_{name}_a") is spec.higher_is_better, name


@pytest.mark.parametrize("column", RUN_COLUMNS)
def test_every_run_column_has_a_direction(column):
    metric_direction(column)  # raises KeyError when undeclared


@pytest.mark.parametrize(("column", "expected"), [
    ("test_unimodal_wf1_spread", False), ("test_unimodal_acc_spread", False), ("test_unimodal_wf1_std", False),
    ("test_disparity_ratio_v", False), ("test_unimodal_loss_disparity", False), ("dev_loss", False),
    ("test_wf1", True), ("test_acc_a", True), ("test_gold_prob", True),
    ("test_grad_norm_share_t", None), ("test_shapley_wf1_t", None), ("test_conditional_utilisation_v", None),
    ("test_perceptual_score_a", None), ("train_kept_fraction_mean", None),
    # summaries of epoch curves take the direction of the curve
    ("test_disparity_ratio_t_auc", False), ("dev_wf1_last", True), ("train_loss_min", False),
    # columns other engineers add: per-class F1, macro F1, probes, balancing coefficients
    ("test_f1_class_neutral", True), ("test_f1_class_dis_gust", True), ("test_macro_f1", True),
    ("test_probe_wf1_a", True), ("test_probe_acc_v", True), ("test_balancing_coefficient_a", None),
])
def test_directions(column, expected):
    assert metric_direction(column) is expected
    assert infer_higher_is_better(column) is expected


def test_unknown_column_has_no_direction():
    with pytest.raises(KeyError):
        metric_direction("test_mystery")
    with pytest.raises(ValueError, match="--higher-is-better / --lower-is-better"):
        infer_higher_is_better("test_mystery")
    assert "mystery" not in COLUMN_DIRECTIONS
