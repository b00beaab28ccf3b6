"""tav-vs-pairs gap and forest plot."""

from __future__ import annotations

import numpy as np
import pytest

from spcl_diag.plots import pair_gaps, plot_forest, plot_pair_gap


def test_pair_gaps_are_seed_paired_differences(run_set):
    gaps = pair_gaps(run_set.results)
    assert set(gaps["pair"]) == {"ta", "tv", "av"} and set(gaps["curriculum"]) == {"none"}
    results = run_set.results.set_index(["modalities", "curriculum", "seed"])["test_wf1"]
    row = gaps[(gaps["missing"] == "a") & (gaps["seed"] == 1)].iloc[0]
    assert row["gap"] == pytest.approx(results["tav", "none", 1] - results["tv", "none", 1])


def test_plot_pair_gap_draws_the_mean_gap(run_set):
    gaps = pair_gaps(run_set.results)
    ax = plot_pair_gap(gaps)
    assert [c.get_label() for c in ax.containers] == ["mean gain of t", "mean gain of a", "mean gain of v"]
    audio_means = ax.containers[1].lines[0].get_ydata()
    assert audio_means[0] == pytest.approx(gaps[gaps["missing"] == "a"]["gap"].mean())
    assert "gain" in ax.get_ylabel()


def test_pair_gaps_need_pairs(run_set):
    with pytest.raises(ValueError, match="pairs"):
        pair_gaps(run_set.results[run_set.results["modalities"] == "tav"])


def test_forest_reads_back_differences_and_significance(comparison):
    ax = plot_forest(comparison)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), comparison["diff"])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0, -1, -2])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["spcl", "random", "anti"]
    filled = ax.collections[-1].get_offsets()
    np.testing.assert_allclose(filled[:, 0], [0.02, -0.04])  # corrected p < 0.05
    segments = ax.collections[0].get_segments()
    np.testing.assert_allclose([s[:, 0] for s in segments], comparison[["diff_low", "diff_high"]].to_numpy())
    assert ax.get_xlabel() == "difference to baseline"


def test_forest_names_missing_columns(comparison):
    with pytest.raises(ValueError, match="p_adjusted"):
        plot_forest(comparison.drop(columns="p_adjusted"))


def test_forest_on_a_real_compare_table(run_set):
    stats = pytest.importorskip("spcl_diag.stats")
    table = stats.compare(run_set.results, "test_wf1", by=("modalities",), rng=np.random.default_rng(0))
    ax = plot_forest(table)
    shown = table[table["diff"].notna()]
    np.testing.assert_allclose(ax.lines[0].get_xdata(), shown["diff"])


def test_forest_says_which_side_is_better(comparison):
    ax = plot_forest(comparison.assign(higher_is_better=True))
    assert ax.get_xlabel() == "difference to baseline (higher is better)"
    mixed = comparison.assign(metric=["test_wf1", "test_disparity_ratio_t", "test_grad_share_t"],
                              higher_is_better=[True, False, None])
    ax = plot_forest(mixed, label_by=["metric", "arm"])
    assert ax.get_xlabel() == "difference to baseline"
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "test wF1  spcl (higher is better)", "test disparity ratio (t)  random (lower is better)", "test grad share (t)  anti"]


def test_forest_figure_draws_one_panel_per_metric_family_with_readable_labels(comparison):
    import pandas as pd

    from spcl_diag.plots.figures import forest_figure

    table = pd.concat([comparison.assign(metric="test_wf1"), comparison.assign(metric="test_disparity_ratio_t"),
                       comparison.assign(metric="test_disparity_ratio_a")], ignore_index=True)
    fig = forest_figure(table)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == ["wF1", "disparity ratio"]
    wf1, disparity = fig.axes
    np.testing.assert_allclose(wf1.lines[0].get_xdata(), comparison["diff"])
    assert len(disparity.lines[0].get_xdata()) == 2 * len(comparison)
    labels = [t.get_text() for t in disparity.get_yticklabels()]
    assert labels[0] == "test disparity ratio (t)  spcl" and "test_" not in " ".join(labels)
    single = forest_figure(comparison.assign(metric="test_wf1"))
    assert len(single.axes) == 1 and single.axes[0].get_title(loc="left") == ""
