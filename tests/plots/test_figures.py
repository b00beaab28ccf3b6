"""The standard figure set."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from spcl_diag.plots import MODALITY_COLORS, standard_figures
from spcl_diag.runs.loading import RunTables


def test_standard_figures_builds_every_figure(run_set, comparison):
    figures = standard_figures(run_set, comparisons={"performance": comparison})
    assert set(figures) == {
        "accuracy_curves", "disparity_curves", "grad_share", "curriculum", "difficulty_by_modality", "pair_gap",
        "forest_performance", "confusion", "aggregate",
    }
    assert all(isinstance(f, Figure) for f in figures.values())
    share_lines = figures["grad_share"].axes[0].lines
    assert [line.get_color() for line in share_lines[:3]] == [MODALITY_COLORS[m] for m in "tav"]
    heatmaps = [ax for ax in figures["curriculum"].axes if ax.images]
    assert [ax.get_title() for ax in heatmaps] == ["spcl, seed 0", "random, seed 0", "anti, seed 0"]


def test_missing_data_leaves_a_figure_out_with_a_warning(run_set):
    results = run_set.results[run_set.results["curriculum"] == "none"]
    subset = RunTables(results, run_set.epochs[run_set.epochs["run_id"].isin(results["run_id"])])
    with pytest.warns(UserWarning, match="curriculum"):
        figures = standard_figures(subset)
    assert "curriculum" not in figures and "pair_gap" in figures
