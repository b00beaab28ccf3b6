"""Probability of improvement averaged over tasks."""

from __future__ import annotations

import numpy as np
import pytest

from spcl_diag.stats.aggregate import average_probability_of_improvement
from spcl_diag.stats.effect_sizes import probability_of_improvement, probability_of_improvement_ci
from spcl_diag.stats.streams import keyed_streams


def test_one_task_is_the_two_sample_interval():
    a, b = [0.61, 0.64, 0.60, 0.66], [0.58, 0.62, 0.59]
    mine = average_probability_of_improvement({"x": a}, {"x": b}, rng=np.random.default_rng(3), n_resamples=500)
    # the task draws from its own stream: the generator and the task's name
    ref = probability_of_improvement_ci(a, b, rng=keyed_streams(np.random.default_rng(3), ["x"])[0], n_resamples=500)
    assert (mine.estimate, mine.low, mine.high) == pytest.approx((ref.estimate, ref.low, ref.high))


def test_order_of_the_tasks_changes_nothing():
    a, b = {"x": [0.61, 0.64, 0.60], "y": [0.5, 0.52, 0.49]}, {"x": [0.58, 0.62, 0.59], "y": [0.51, 0.5, 0.5]}
    one = average_probability_of_improvement(a, b, rng=np.random.default_rng(0), n_resamples=300)
    two = average_probability_of_improvement(dict(reversed(a.items())), b, rng=np.random.default_rng(0), n_resamples=300)
    assert (one.low, one.high) == (two.low, two.high)


def test_average_over_tasks_and_validation():
    a = {"x": [1.0, 2.0], "y": [0.0, 0.0, 1.0]}
    b = {"x": [1.5, 1.5], "y": [0.5]}
    res = average_probability_of_improvement(a, b, rng=np.random.default_rng(0), n_resamples=300)
    expected = (probability_of_improvement(a["x"], b["x"]) + probability_of_improvement(a["y"], b["y"])) / 2
    assert res.estimate == pytest.approx(expected) and res.low <= res.estimate <= res.high and res.n == 8
    with pytest.raises(ValueError, match="same, non-empty tasks"):
        average_probability_of_improvement(a, {"x": [1.0]}, rng=np.random.default_rng(0))
