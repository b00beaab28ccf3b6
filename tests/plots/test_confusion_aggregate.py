"""The confusion figure and the IQM / probability-of-improvement aggregate, read back."""

from __future__ import annotations

import numpy as np
import pytest

from spcl_diag.plots import aggregate_figure, aggregate_scores, confusion_figure
from spcl_diag.runs.frames import confusion_counts
from spcl_diag.runs.loading import load_predictions
from spcl_diag.stats.bootstrap import stratified_bootstrap_ci


def test_confusion_sums_the_runs_and_normalises_rows(run_set):
    tav = run_set.results[(run_set.results["modalities"] == "tav") & (run_set.results["curriculum"] == "spcl")]
    paths = list(tav["path"])
    counts, names = confusion_counts(paths)
    labels = np.concatenate([load_predictions(p)["test_labels"] for p in paths])
    assert names == [f"class{c}" for c in range(6)] and set(counts) == {"joint", "t", "a", "v"}
    np.testing.assert_array_equal(counts["joint"].sum(1), np.bincount(labels, minlength=6))
    fig = confusion_figure(paths)
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["joint", "text", "audio", "visual"]
    share = panels[1].images[0].get_array()
    rows = counts["t"].sum(1)
    np.testing.assert_allclose(np.asarray(share)[rows > 0].sum(1), 1.0)
    assert len(fig.axes) == 8  # a colour bar beside every panel


def test_aggregate_uses_the_stratified_iqm_and_names_the_runs(run_set):
    results = run_set.results[run_set.results["modalities"].isin(["tav"])]
    table = aggregate_scores(results, rng=np.random.default_rng(0), n_resamples=200)
    assert table["arm"].tolist() == ["none", "spcl", "random", "anti"]
    spcl = results[results["curriculum"] == "spcl"]
    expected = stratified_bootstrap_ci({"x": spcl["test_wf1"].to_numpy()}, rng=np.random.default_rng(1), n_resamples=200)
    assert table.loc[1, "iqm"] == pytest.approx(expected.estimate)
    assert np.isnan(table.loc[0, "poi"]) and 0 <= table.loc[1, "poi_low"] <= table.loc[1, "poi"] <= table.loc[1, "poi_high"] <= 1
    fig = aggregate_figure(results, rng=np.random.default_rng(0), n_resamples=200)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0] == "none (2 runs, 1 cell)"
    assert fig.axes[0].get_xlabel() == "IQM of test wF1"
    with pytest.raises(ValueError, match="no 'baseline' run"):
        aggregate_scores(results, baseline="baseline", rng=np.random.default_rng(0))
