"""Trajectory summaries on hand-made curves."""

from __future__ import annotations

import numpy as np
import pytest

from spcl_diag.metrics import (
    area_under_curve,
    final_value,
    first_balanced_epoch,
    summarise_trajectory,
)


def test_area_under_curve_hand_computed():
    assert area_under_curve([2.0, 2.0, 2.0, 2.0]) == pytest.approx(6.0)  # constant 2 over 3 epochs
    assert area_under_curve([1.0, 3.0]) == pytest.approx(2.0)  # one trapezoid
    assert area_under_curve([1.0, 3.0, 1.0], epochs=[1, 2, 4]) == pytest.approx(2.0 + 4.0)
    curve = np.random.default_rng(0).uniform(1, 3, size=20)
    assert area_under_curve(curve) == pytest.approx(np.trapezoid(curve, np.arange(1, 21)))


def test_first_balanced_epoch():
    assert first_balanced_epoch([3.0, 2.0, 1.1, 1.5, 1.0], threshold=1.1) == 3.0  # at the threshold counts
    assert first_balanced_epoch([3.0, np.nan, 1.0], threshold=1.1, epochs=[5, 10, 15]) == 15.0
    assert np.isnan(first_balanced_epoch([3.0, 2.0, 1.5], threshold=1.1))  # never balanced


def test_final_value_and_summary():
    curve = [2.5, 1.8, 1.2, 1.05]
    assert final_value(curve) == 1.05
    summary = summarise_trajectory(curve, threshold=1.1)
    assert (summary.auc, summary.first_balanced_epoch, summary.final) == (
        pytest.approx(2.5 / 2 + 1.8 + 1.2 + 1.05 / 2),
        4.0,
        1.05,
    )


def test_degenerate_and_invalid_curves():
    with pytest.warns(RuntimeWarning, match="at least two epochs"):
        assert np.isnan(area_under_curve([1.0]))
    with pytest.warns(RuntimeWarning, match="empty curve"):
        assert np.isnan(final_value([]))
    with pytest.raises(ValueError, match="strictly increasing; got \\[1.0, 3.0, 2.0\\]"):
        area_under_curve([1, 2, 3], epochs=[1, 3, 2])
    with pytest.raises(ValueError, match="1-D curve"):
        final_value(np.ones((2, 2)))
