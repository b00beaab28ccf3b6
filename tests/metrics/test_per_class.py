"""Per-class Shapley contribution, unimodal accuracy per class and kept fraction per class."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import recall_score

from spcl_diag import run
from spcl_diag.metrics.contribution import modality_subsets, shapley_values
from spcl_diag.metrics.per_class import kept_by_class, per_class_contribution
from spcl_diag.runs.loading import load_difficulty, load_predictions
from spcl_diag.runs.per_class import per_class_tables


def test_per_class_shapley_matches_a_loop_over_classes_and_sklearn_recall():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    preds = {s: np.where(rng.random(200) < 0.3 + 0.2 * len(s), y, rng.integers(0, 4, 200)) for s in modality_subsets("tav")}
    heads = {m: rng.random((200, 4)) for m in "tav"}
    table = per_class_contribution(y, preds, unimodal_predictions=heads, class_names=["hap", "sad", "neu", "ang"])
    recall = {s: recall_score(y, p, average=None, labels=range(4)) for s, p in preds.items()}
    for c, name in enumerate(["hap", "sad", "neu", "ang"]):
        expected = shapley_values({s: r[c] for s, r in recall.items()})
        got = table[(table["class"] == c) & (table["metric"] == "shapley_acc")].set_index("modality")["value"]
        assert got.to_dict() == pytest.approx(expected)
        assert got.sum() == pytest.approx(recall["tav"][c] - recall[""][c])  # efficiency
        unimodal = table[(table["class_name"] == name) & (table["metric"] == "unimodal_acc")].set_index("modality")["value"]
        for m in "tav":
            assert unimodal[m] == pytest.approx(recall_score(y, heads[m].argmax(1), average=None, labels=range(4))[c])


def test_absent_class_is_nan_with_a_warning():
    y = np.array([0, 0, 2, 2])
    preds = {"": y * 0, "t": y, "a": y, "ta": y}
    with pytest.warns(RuntimeWarning, match=r"classes \[1\]"):
        table = per_class_contribution(y, preds)
    assert table[table["class"] == 1]["value"].isna().all() and table[table["class"] == 2]["value"].notna().all()


def test_kept_by_class_matches_a_loop():
    rng = np.random.default_rng(1)
    y, v = rng.integers(0, 3, 50), rng.random((50, 4)) < 0.6
    table = kept_by_class(y, v).set_index(["epoch", "class"])["kept_fraction"]
    for e in range(4):
        for c in range(3):
            assert table[(e, c)] == pytest.approx(v[y == c, e].mean())


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="keep must be"):
        kept_by_class(np.zeros(3, int), np.zeros((4, 2), bool))
    with pytest.raises(ValueError, match=r"subset_predictions\['t'\]"):
        per_class_contribution(np.zeros(3, int), {"": np.zeros(3), "t": np.zeros(4)})


@pytest.fixture(scope="module")
def spcl_run(tmp_path_factory):
    from spcl_diag import RunConfig

    config = RunConfig(curriculum="spcl").with_overrides({
        "train.epochs": 3, "train.batch_size": 4, "data.synthetic.n_dialogues": 16, "data.synthetic.max_length": 8,
        "model.hidden_dim": 16, "model.feedforward_dim": 32})
    return run(config, tmp_path_factory.mktemp("per_class"), device="cpu")


def test_run_tables_come_from_the_stored_masked_predictions(spcl_run):
    preds = load_predictions(spcl_run.path)
    # with every modality intact the masked evaluation is the model itself
    np.testing.assert_allclose(preds["test_masked_probs_tav"], preds["test_probs_joint"], atol=1e-6)
    assert {f"test_masked_probs_{s or 'none'}" for s in modality_subsets("tav")} <= set(preds)
    tables = per_class_tables(spcl_run.path)
    names = list(tables.contribution["class_name"].unique())
    assert names[0] != "0"  # the dataset's label names, in class order
    difficulty = load_difficulty(spcl_run.path)
    kept = tables.kept.set_index(["epoch", "class"])["kept_fraction"]
    c = int(difficulty["label"][0])
    assert kept[(0, c)] == pytest.approx(difficulty["v"][difficulty["label"] == c, 0].mean())
    # the overall Shapley wF1 in result.json and the per-class table come from the same masked predictions
    recall_full = tables.contribution.query("metric == 'shapley_acc'").groupby("class")["value"].sum()
    labels = preds["test_labels"]
    for cls, total in recall_full.items():
        mask = labels == cls
        if mask.any():
            full = (preds["test_masked_probs_tav"][mask].argmax(1) == cls).mean()
            empty = (preds["test_masked_probs_none"][mask].argmax(1) == cls).mean()
            assert total == pytest.approx(full - empty)


def test_heatmap_draws_the_tables(spcl_run):
    from spcl_diag.plots.per_class import per_class_figure

    tables = per_class_tables(spcl_run.path)
    fig = per_class_figure(tables.contribution, tables.kept)
    shapley = tables.contribution.query("metric == 'shapley_acc'").pivot(index="class", columns="modality", values="value")
    drawn = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(np.asarray(drawn), shapley[["t", "a", "v"]].to_numpy())
    kept = tables.kept.pivot(index="class", columns="epoch", values="kept_fraction")
    np.testing.assert_allclose(np.asarray(fig.axes[2].images[0].get_array()), kept.to_numpy())
