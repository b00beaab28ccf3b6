"""A run's files, their schema, determinism and atomic completion."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from spcl_diag import RunConfig, load_runs, run
from spcl_diag.runs import directory as rd


@pytest.fixture
def finished(tmp_path, tiny_config):
    return run(tiny_config.paired("spcl"), tmp_path, device="cpu")


def test_run_directory_has_every_file(finished):
    assert finished.status == "ok"
    assert finished.path.name == finished.run_id
    for name in rd.COMPLETE_FILES:
        assert (finished.path / name).is_file(), name
    assert rd.is_complete(finished.path)
    assert not list(finished.path.parent.glob(".*tmp*"))  # the temporary name is gone


def test_config_json_records_provenance(finished, tiny_config):
    meta = json.loads((finished.path / rd.CONFIG).read_text())
    assert meta["run_id"] == finished.run_id
    assert RunConfig.from_dict(meta["config"]).run_id() == finished.run_id
    assert meta["config"]["pacing"]["lambda0"] == 0.4  # preset resolved
    assert len(meta["dataset_fingerprint"]) == 16
    assert meta["device"] == "cpu" and meta["package_version"]


def test_epochs_csv_is_tidy_with_per_modality_metrics_every_epoch(finished, tiny_config):
    epochs = pd.read_csv(finished.path / rd.EPOCHS)
    assert list(epochs.columns) == list(rd.EPOCH_COLUMNS)
    n_epochs = tiny_config.train.epochs
    for split in ("train", "dev", "test"):
        for scope in ("joint", "t", "a", "v"):
            for metric in ("loss", "acc", "wf1", "gold_prob"):
                rows = epochs.query("split == @split and scope == @scope and metric == @metric")
                assert sorted(rows["epoch"]) == list(range(1, n_epochs + 1)), (split, scope, metric)
        ratio = epochs.query("split == @split and metric == 'disparity_ratio'")
        assert set(ratio["scope"]) == {"t", "a", "v"}
        np.testing.assert_allclose(ratio.groupby("epoch")["value"].min(), 1.0)
    train_only = epochs.query("split == 'train'")
    for metric in ("lambda", "kept_fraction", "wall_seconds"):
        assert len(train_only.query("metric == @metric")) == n_epochs
    grad = train_only.query("metric == 'grad_norm'")
    assert set(grad["scope"]) == {"t", "a", "v"} and (grad["value"] > 0).all()
    lam = train_only.query("metric == 'lambda'").sort_values("epoch")["value"].to_numpy()
    np.testing.assert_allclose(lam[1:] / lam[:-1], 1.25)


def test_difficulty_npz_has_one_row_per_training_utterance(finished, tiny_config):
    with np.load(finished.path / rd.DIFFICULTY) as f:
        data = {k: f[k] for k in f.files}
    n_train = len(data["label"])
    for key in ("l", "c", "d"):
        assert data[key].shape == (n_train, tiny_config.train.epochs) and data[key].dtype == np.float16
    assert data["v"].dtype == bool
    assert len(data["dialogue_id"]) == len(data["speaker"]) == len(data["position"]) == n_train
    kept = pd.read_csv(finished.path / rd.EPOCHS).query("metric == 'kept_fraction'").sort_values("epoch")
    np.testing.assert_allclose(data["v"].mean(0), kept["value"].to_numpy())


def test_predictions_and_result_agree(finished):
    with np.load(finished.path / rd.PREDICTIONS) as f:
        labels, probs = f["test_labels"], f["test_probs_joint"]
        assert {"test_probs_t", "test_probs_a", "test_probs_v", "dev_labels", "test_dialogue_id"} <= set(f.files)
    result = json.loads((finished.path / rd.RESULT).read_text())
    assert result["status"] == "ok" and 1 <= result["best_epoch"] <= 3
    assert result["test"]["joint"]["acc"] == pytest.approx(float((probs.argmax(1) == labels).mean()))
    best = pd.read_csv(finished.path / rd.EPOCHS).query(
        "split == 'test' and scope == 'joint' and metric == 'wf1' and epoch == @result['best_epoch']"
    )
    assert best["value"].item() == pytest.approx(result["test"]["joint"]["wf1"])


def test_same_config_and_seed_give_identical_epochs(tmp_path, tiny_config):
    config = tiny_config.paired("spcl")
    first = run(config, tmp_path / "a", device="cpu")
    second = run(config, tmp_path / "b", device="cpu")
    a, b = (pd.read_csv(r.path / rd.EPOCHS).query("metric != 'wall_seconds'") for r in (first, second))
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)


def test_finished_run_is_not_redone(finished, tiny_config):
    before = (finished.path / rd.RESULT).stat().st_mtime_ns
    again = run(tiny_config.paired("spcl"), finished.path.parent, device="cpu")
    assert again.run_id == finished.run_id
    assert (finished.path / rd.RESULT).stat().st_mtime_ns == before


def test_failed_run_is_recorded_and_retried_without_loss(tmp_path, tiny_config, monkeypatch):
    from spcl_diag.runs import execute

    def broken(*args, **kwargs):
        raise RuntimeError("simulated crash in training")

    monkeypatch.setattr(execute, "train_run", broken)
    failed = run(tiny_config, tmp_path, device="cpu")
    assert failed.status == "failed"
    assert "simulated crash" in (failed.path / rd.ERROR).read_text()
    assert run(tiny_config, tmp_path, device="cpu").status == "failed"  # not retried silently
    monkeypatch.undo()
    retried = run(tiny_config, tmp_path, device="cpu", retry_failed=True)
    assert retried.status == "ok"
    assert (tmp_path / f"{failed.run_id}.failed-1" / rd.ERROR).is_file()  # old record kept
    assert load_runs(tmp_path).results["status"].tolist() == ["ok"]


def test_load_runs_flattens_config_and_metrics(finished):
    tables = load_runs(finished.path.parent)
    row = tables.results.iloc[0]
    assert row["curriculum"] == "spcl" and row["modalities"] == "tav" and row["train.epochs"] == 3
    for column in ("test_wf1", "test_acc", "test_wf1_t", "test_acc_a", "test_disparity_ratio_v"):
        assert np.isfinite(row[column]), column
    assert set(tables.epochs["run_id"]) == {finished.run_id}
    assert {"dataset", "backbone", "curriculum", "seed"} <= set(tables.epochs.columns)
