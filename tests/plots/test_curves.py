"""Curves over epochs read back against the epochs table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from spcl_diag.plots import (
    MODALITY_COLORS,
    grad_share_curves,
    modality_curves,
    plot_curves,
    plot_kept_fraction,
)
from spcl_diag.plots.curves import select_rows


def test_plot_curves_draws_the_seed_mean_per_modality(run_set):
    rows = select_rows(run_set.epochs, metric="acc", split="dev", scopes=["t", "a", "v"], arms=["spcl"])
    ax = plot_curves(rows, hue="scope")
    assert [line.get_label() for line in ax.lines] == ["text", "audio", "visual"]
    for line, m in zip(ax.lines, "tav"):
        expected = rows[rows["scope"] == m].groupby("epoch")["value"].mean()
        np.testing.assert_allclose(line.get_ydata(), expected.to_numpy())
        np.testing.assert_array_equal(line.get_xdata(), expected.index.to_numpy())
        assert line.get_color() == MODALITY_COLORS[m]
    assert len(ax.collections) == 3  # one seed band per line
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "accuracy"


def test_plot_curves_band_spans_the_seed_range(run_set):
    tav = run_set.epochs[run_set.epochs["modalities"] == "tav"]
    rows = select_rows(tav, metric="acc", split="dev", scopes=["a"], arms=["none"])
    ax = plot_curves(rows, hue="scope", band="range")
    vertices = ax.collections[0].get_paths()[0].vertices
    by_epoch = rows.groupby("epoch")["value"]
    assert vertices[:, 1].min() == pytest.approx(by_epoch.min().min())
    assert vertices[:, 1].max() == pytest.approx(by_epoch.max().max())


def test_plot_curves_uses_a_given_axes_and_names_missing_columns(run_set):
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    rows = select_rows(run_set.epochs, metric="loss", split="train", scopes=["joint"])
    with pytest.raises(ValueError, match="would average runs of different modalities"):
        plot_curves(rows, hue="curriculum")  # tav and the pairs: never pooled silently
    rows = rows[rows["modalities"] == "tav"]
    assert plot_curves(rows, hue="curriculum", ax=ax) is ax
    assert {line.get_label() for line in ax.lines} == {"none", "spcl", "random", "anti"}
    with pytest.raises(ValueError, match="lacks column"):
        plot_curves(rows.drop(columns="seed"))


def test_modality_curves_has_one_panel_per_modality_and_arm_lines(run_set):
    tav = run_set.epochs[run_set.epochs["modalities"] == "tav"]
    fig = modality_curves(tav, metric="acc", split="dev")
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["text", "audio", "visual", "joint"]
    audio = fig.axes[1]
    assert [line.get_label() for line in audio.lines] == ["none", "spcl", "random", "anti"]
    rows = tav[(tav["metric"] == "acc") & (tav["split"] == "dev") & (tav["scope"] == "a") & (tav["curriculum"] == "spcl")]
    np.testing.assert_allclose(audio.lines[1].get_ydata(), rows.groupby("epoch")["value"].mean().to_numpy())


def test_disparity_curves_per_arm_panels(run_set):
    tav = run_set.epochs[run_set.epochs["modalities"] == "tav"]
    fig = modality_curves(tav, metric="disparity_ratio", split="dev", panels="curriculum", arms=["none", "spcl"])
    assert [ax.get_title() for ax in fig.axes] == ["none", "spcl"]
    assert [line.get_label() for line in fig.axes[0].lines[:3]] == ["text", "audio", "visual"]
    assert "disparity" in fig.axes[0].get_ylabel()


def test_grad_share_curves_sum_to_one(run_set):
    tav = run_set.epochs[run_set.epochs["modalities"] == "tav"]
    fig = grad_share_curves(tav)
    ax = fig.axes[0]
    total = sum(line.get_ydata() for line in ax.lines if line.get_label() in ("text", "audio", "visual"))
    np.testing.assert_allclose(total, 1.0, atol=1e-9)
    assert ax.get_ylabel() == "gradient-norm share"


def test_kept_fraction_of_paced_arms_equals_spcl(run_set):
    tav = run_set.epochs[run_set.epochs["modalities"] == "tav"]
    ax = plot_kept_fraction(tav)
    lines = {line.get_label(): line.get_ydata() for line in ax.lines}
    assert set(lines) == {"spcl", "random", "anti"}
    np.testing.assert_allclose(lines["random"], lines["spcl"])
    assert lines["spcl"][0] < 1.0  # the curriculum leaves utterances out at first


def test_select_rows_explains_an_empty_selection(run_set):
    with pytest.raises(ValueError, match="metrics present"):
        select_rows(run_set.epochs, metric="no_such_metric")


def test_bands_are_t_intervals_with_n_in_the_legend_and_integer_ticks(run_set):
    from spcl_diag.stats.intervals import t_interval

    tav = run_set.epochs[run_set.epochs["modalities"] == "tav"]
    rows = select_rows(tav, metric="acc", split="dev", scopes=["a"], arms=["spcl"])
    ax = plot_curves(rows, hue="scope", min_band_units=2)
    vertices = ax.collections[0].get_paths()[0].vertices
    first = t_interval(rows[rows["epoch"] == 1]["value"].to_numpy())
    low, high = max(first.low, 0.0), min(first.high, 1.0)  # an accuracy band is drawn within [0, 1]
    assert vertices[:, 1].min() <= low + 1e-9 and high - 1e-9 <= vertices[:, 1].max()
    assert any(np.isclose(vertices[:, 1], high).tolist())
    assert ax.get_legend().get_title().get_text() == "mean, 95% t-interval, n = 2 seeds"
    assert all(float(t).is_integer() for t in ax.get_xticks())
    fewer = rows[~((rows["seed"] == 1) & (rows["scope"] == "a"))]
    both = select_rows(tav, metric="acc", split="dev", scopes=["t"], arms=["spcl"])
    ax = plot_curves(pd.concat([fewer, both]), hue="scope")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["text (n=2)", "audio (n=1)"]


def test_arms_differ_in_colour_and_line_style(run_set):
    tav = run_set.epochs[run_set.epochs["modalities"] == "tav"]
    ax = plot_curves(select_rows(tav, metric="loss", split="train", scopes=["joint"]), hue="curriculum")
    styles = {(line.get_color(), str(line.get_linestyle())) for line in ax.lines}
    assert len(styles) == len(ax.lines) == 4
    assert len({line.get_linestyle() for line in ax.lines}) == 4


def test_modality_curves_draw_one_row_per_modality_set(run_set):
    fig = modality_curves(run_set.epochs, metric="acc", split="dev", arms=["none"])
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.axison]
    assert "audio (av)" in titles and "audio (tav)" in titles and "text (tav)" in titles
    assert all(ax.get_legend() is not None for ax in fig.axes if ax.axison and ax.get_title().startswith("joint"))


def test_bands_of_proportions_stay_within_zero_and_one():
    from spcl_diag.plots.curves import plot_curves

    frame = pd.DataFrame({"epoch": [1, 1, 1, 2, 2, 2], "seed": [0, 1, 2] * 2, "scope": "t", "metric": "acc",
                          "value": [0.01, 0.3, 0.02, 0.97, 0.5, 0.99]})
    ax = plot_curves(frame, min_band_units=3)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() >= 0.0 and band.max() <= 1.0
    raw = plot_curves(frame.assign(metric="disparity_ratio"), min_band_units=3)  # not a proportion: the t interval as it is
    assert raw.collections[0].get_paths()[0].vertices[:, 1].min() < 0.0


def test_below_five_seeds_each_seed_is_a_thin_line_and_the_legend_says_so():
    from matplotlib.collections import LineCollection, PolyCollection

    from spcl_diag.plots.curves import plot_curves

    def frame(n_seeds: int) -> pd.DataFrame:
        rng = np.random.default_rng(n_seeds)
        return pd.DataFrame({"epoch": np.repeat([1, 2, 3], n_seeds), "seed": np.tile(range(n_seeds), 3), "scope": "t",
                             "metric": "acc", "value": rng.uniform(0.3, 0.6, 3 * n_seeds)})

    few = plot_curves(frame(3))
    (seeds,) = few.collections
    assert isinstance(seeds, LineCollection) and len(seeds.get_segments()) == 3
    np.testing.assert_allclose(seeds.get_segments()[0][:, 1], frame(3).query("seed == 0")["value"])
    assert few.get_legend().get_title().get_text() == "mean, thin lines: each seed, n = 3 seeds"
    many = plot_curves(frame(5))
    assert isinstance(many.collections[0], PolyCollection) and not isinstance(many.collections[0], LineCollection)
    assert many.get_legend().get_title().get_text() == "mean, 95% t-interval, n = 5 seeds"
    mixed = plot_curves(pd.concat([frame(5), frame(3).assign(scope="a")]))
    assert mixed.get_legend().get_title().get_text() == "mean, 95% t-interval from 5 seeds on, else each seed"
