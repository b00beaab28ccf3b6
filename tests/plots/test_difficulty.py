"""Difficulty heatmap and difficulty by most confident modality."""

from __future__ import annotations

import numpy as np
import pytest

from spcl_diag.plots import plot_difficulty_by_modality, plot_difficulty_heatmap
from spcl_diag.runs.frames import confidence_frame, difficulty_frame
from spcl_diag.runs.loading import load_difficulty, load_predictions


def spcl_run(run_set, seed=0):
    results = run_set.results
    return results[(results["curriculum"] == "spcl") & (results["seed"] == seed) & (results["modalities"] == "tav")].iloc[0]


def test_difficulty_frame_is_the_npz_in_long_form(run_set):
    path = spcl_run(run_set)["path"]
    raw = load_difficulty(path)
    frame = difficulty_frame(path)
    n_utt, n_epochs = raw["d"].shape
    assert len(frame) == n_epochs * n_utt
    second = frame[frame["epoch"] == 2].sort_values("utterance")
    np.testing.assert_allclose(second["d"].to_numpy(), raw["d"][:, 1].astype(float))
    np.testing.assert_array_equal(second["v"].to_numpy(), raw["v"][:, 1])


def test_heatmap_draws_utterances_sorted_by_mean_difficulty(run_set):
    frame = difficulty_frame(spcl_run(run_set)["path"])
    ax = plot_difficulty_heatmap(frame, show_kept=False)
    drawn = ax.images[0].get_array()
    grid = frame.pivot(index="utterance", columns="epoch", values="d")
    expected = grid.loc[grid.mean(axis=1).sort_values(kind="stable").index].to_numpy()
    positive = expected > 0
    np.testing.assert_allclose(np.asarray(drawn)[positive], expected[positive])
    assert drawn.shape == expected.shape
    assert ax.get_xlabel() == "epoch" and "utterance" in ax.get_ylabel()


def test_heatmap_masks_left_out_cells(run_set):
    frame = difficulty_frame(spcl_run(run_set)["path"])
    order = np.arange(frame["utterance"].max() + 1)
    ax = plot_difficulty_heatmap(frame, order=order)
    masked = np.ma.getmaskarray(ax.images[0].get_array())
    kept = frame.pivot(index="utterance", columns="epoch", values="v").to_numpy(dtype=bool)
    np.testing.assert_array_equal(masked, ~kept)


def test_confidence_frame_and_box_medians(run_set):
    frame = confidence_frame(run_set)
    assert set(frame["modalities"]) == {"tav", "ta", "tv", "av"}
    one = frame[frame["run_id"] == spcl_run(run_set)["run_id"]]
    preds = load_predictions(spcl_run(run_set)["path"])
    gold = np.stack([preds[f"test_probs_{m}"][np.arange(len(one)), preds["test_labels"]] for m in "tav"])
    np.testing.assert_array_equal(one["most_confident"].to_numpy(), np.asarray(list("tav"))[gold.argmax(0)])
    tav = frame[frame["modalities"] == "tav"]
    ax = plot_difficulty_by_modality(tav, arms=["none", "spcl"])
    medians = {line.get_label(): line.get_ydata()[0] for line in ax.lines if line.get_label().startswith("median")}
    for label, value in medians.items():
        _, arm, m = label.split()
        values = tav[(tav["curriculum"] == arm) & (tav["most_confident"] == m)]["d"]
        assert value == pytest.approx(float(np.median(values)))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["none", "spcl"]
    assert "difficulty" in ax.get_ylabel()
