"""Bootstrap intervals against scipy.stats.bootstrap and loop-based references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from spcl_diag.stats import bootstrap_ci, interquartile_mean, stratified_bootstrap_ci
from spcl_diag.stats.streams import keyed_streams

TOL = 1e-10  # same generator state, same draws: agreement up to rounding


@pytest.mark.parametrize("method", ["percentile", "BCa"])
@pytest.mark.parametrize("statistic", [np.mean, np.median])
def test_bootstrap_matches_scipy(method: str, statistic) -> None:
    x = np.random.default_rng(1).gamma(2.0, size=15)
    ref = sps.bootstrap((x,), statistic, method=method, n_resamples=2000, rng=np.random.default_rng(7))
    ours = bootstrap_ci(x, statistic, rng=np.random.default_rng(7), n_resamples=2000, method=method.lower())
    np.testing.assert_allclose([ours.low, ours.high], [ref.confidence_interval.low, ref.confidence_interval.high], rtol=TOL)
    assert ours.low <= ours.estimate <= ours.high


def test_bootstrap_same_seed_same_result_and_string_statistic() -> None:
    x = np.random.default_rng(2).normal(size=10)
    first = bootstrap_ci(x, "mean", rng=np.random.default_rng(0), n_resamples=500)
    assert first == bootstrap_ci(x, np.mean, rng=np.random.default_rng(0), n_resamples=500)


def test_grouped_with_singleton_groups_equals_plain() -> None:
    x = np.random.default_rng(3).normal(size=12)
    plain = bootstrap_ci(x, rng=np.random.default_rng(4), n_resamples=300, method="bca")
    grouped = bootstrap_ci(x, rng=np.random.default_rng(4), n_resamples=300, method="bca", groups=np.arange(12))
    np.testing.assert_allclose([plain.low, plain.high], [grouped.low, grouped.high], rtol=TOL)


def test_grouped_percentile_matches_loop_reference() -> None:
    rng = np.random.default_rng(5)
    groups = np.repeat(["d3", "d1", "d2", "d4", "d5"], [3, 1, 4, 2, 5])
    x = rng.normal(size=groups.size)
    ours = bootstrap_ci(x, rng=np.random.default_rng(9), groups=groups, n_resamples=400, method="percentile")
    draw = np.random.default_rng(9).integers(0, 5, (400, 5))
    names = sorted(set(groups))
    reps = [np.mean(np.concatenate([x[groups == names[g]] for g in row])) for row in draw]
    np.testing.assert_allclose([ours.low, ours.high], np.quantile(reps, [0.025, 0.975]), rtol=TOL)
    assert ours.n == 5


def test_iqm_is_scipy_trim_mean() -> None:
    x = np.random.default_rng(0).normal(size=(7, 11))
    np.testing.assert_allclose(interquartile_mean(x, axis=None), sps.trim_mean(x, 0.25, axis=None))


def test_stratified_single_task_equals_plain_percentile() -> None:
    x = np.random.default_rng(6).normal(size=9)
    ours = stratified_bootstrap_ci({"only": x}, aggregate="mean", rng=np.random.default_rng(1), n_resamples=1000)
    stream = keyed_streams(np.random.default_rng(1), ["only"])[0]  # the task's own stream
    ref = sps.bootstrap((x,), np.mean, method="percentile", n_resamples=1000, rng=stream)
    np.testing.assert_allclose([ours.low, ours.high], [ref.confidence_interval.low, ref.confidence_interval.high], rtol=TOL)


@pytest.mark.parametrize("aggregate", ["mean", "median", "iqm"])
def test_stratified_matches_loop_reference(aggregate: str) -> None:
    rng = np.random.default_rng(8)
    scores = {"iemocap": rng.normal(0.6, 0.02, 5), "meld": rng.normal(0.4, 0.02, 3), "synthetic": rng.normal(0.9, 0.01, 4)}
    ours = stratified_bootstrap_ci(scores, aggregate=aggregate, rng=np.random.default_rng(2), n_resamples=300)
    # each task from its own stream (the generator and the task's name), all resamples at once
    draws = keyed_streams(np.random.default_rng(2), list(scores))
    per_task = [v[draw.integers(0, v.size, (300, v.size))] for v, draw in zip(scores.values(), draws)]
    resampled = [[per_task[t][b] for t in range(3)] for b in range(300)]

    def agg(tasks):
        if aggregate == "iqm":
            pooled = sorted(np.concatenate(tasks))
            k = len(pooled) // 4
            return np.mean(pooled[k: len(pooled) - k])
        means = [np.mean(t) for t in tasks]
        return np.mean(means) if aggregate == "mean" else np.median(means)

    reps = [agg(r) for r in resampled]
    np.testing.assert_allclose([ours.low, ours.high], np.quantile(reps, [0.025, 0.975]), rtol=TOL)
    np.testing.assert_allclose(ours.estimate, agg(list(scores.values())), rtol=TOL)
    assert ours.contains(ours.estimate)


def test_stratified_interval_ignores_the_order_of_the_tasks() -> None:
    rng = np.random.default_rng(8)
    scores = {"iemocap": rng.normal(0.6, 0.02, 5), "meld": rng.normal(0.4, 0.02, 3)}
    one = stratified_bootstrap_ci(scores, rng=np.random.default_rng(2), n_resamples=300)
    two = stratified_bootstrap_ci(dict(reversed(scores.items())), rng=np.random.default_rng(2), n_resamples=300)
    assert (one.low, one.high) == (two.low, two.high)


def test_stratified_array_input_and_bca() -> None:
    table = np.random.default_rng(0).normal(size=(5, 3))
    res = stratified_bootstrap_ci(table, aggregate="iqm", rng=np.random.default_rng(0), n_resamples=500, method="bca")
    assert res.method == "bootstrap-bca" and res.n == 15 and res.low <= res.estimate <= res.high


def test_bca_degenerate_warns() -> None:
    with pytest.warns(RuntimeWarning, match="undefined"):
        res = bootstrap_ci([1.0, 1.0, 1.0], rng=np.random.default_rng(0), n_resamples=100)
    assert np.isnan(res.low)


def test_rng_is_required_and_checked() -> None:
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        bootstrap_ci([1.0, 2.0], rng=0)  # type: ignore[arg-type]
