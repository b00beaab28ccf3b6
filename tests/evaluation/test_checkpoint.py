"""model.pt, evaluate_run and the checkpoint's refusals."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from spcl_diag.cli.main import main
from spcl_diag.data.loaders.bundle import write_bundle
from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
from spcl_diag.evaluation import CheckpointError, load_checkpoint
from spcl_diag.runs.scoring import checkpoint_dataset, evaluate_run


def test_checkpoint_is_plain_weights_and_the_resolved_config(saved_run):
    payload = torch.load(saved_run.path / "model.pt", weights_only=True)
    assert payload["run_id"] == saved_run.run_id
    assert payload["config"]["pacing"]["lambda0"] is not None  # resolved, preset filled in
    checkpoint = load_checkpoint(saved_run.path)
    assert checkpoint.config.run_id() == saved_run.run_id
    assert not checkpoint.model.training


def test_evaluate_reproduces_the_selected_epoch_and_masking_changes_it(saved_run):
    again = evaluate_run(saved_run.path, write=False)
    for split in ("dev", "test"):
        for scope, scores in saved_run.result[split].items():
            for metric, value in scores.items():
                assert again[split][scope][metric] == pytest.approx(value, abs=1e-6, nan_ok=True), (split, scope, metric)
    masked = evaluate_run(saved_run.path, mask="a,v")
    assert masked["mask"] == "av"
    assert masked["test"]["joint"]["loss"] != pytest.approx(again["test"]["joint"]["loss"])
    written = json.loads((saved_run.path / "evaluations" / "synthetic-mask-av.json").read_text())
    assert written["test"]["joint"]["wf1"] == pytest.approx(masked["test"]["joint"]["wf1"])


def test_evaluate_on_another_file_of_the_same_format(saved_run, tmp_path):
    own = checkpoint_dataset(load_checkpoint(saved_run.path))
    path = write_bundle(own, tmp_path / "same.npz")
    scores = evaluate_run(saved_run.path, dataset=str(path), write=False)
    assert scores["test"]["joint"]["wf1"] == pytest.approx(saved_run.result["test"]["joint"]["wf1"])


def test_a_mismatched_dataset_is_a_clear_error(saved_run, tmp_path, capsys):
    other = make_synthetic(SyntheticConfig(n_dialogues=16, max_length=6, dims={"t": 7, "a": 16, "v": 8}))
    path = write_bundle(other, tmp_path / "other.npz")
    with pytest.raises(CheckpointError, match="modality 't' has 7 features, the model expects"):
        evaluate_run(saved_run.path, dataset=str(path), write=False)
    assert main(["evaluate", str(saved_run.path), "--dataset", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("spcl-diag evaluate: error:") and "\n" not in err


def test_another_package_version_is_refused(saved_run, tmp_path):
    payload = torch.load(saved_run.path / "model.pt", weights_only=True)
    payload["package_version"] = "0.0.1"
    torch.save(payload, tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match="written by spcl_diag 0.0.1"):
        load_checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nowhere")


def test_per_class_results_agree_with_sklearn_on_the_saved_predictions(saved_run):
    from sklearn.metrics import f1_score

    from spcl_diag.runs.loading import load_predictions

    preds = load_predictions(saved_run.path)
    names = [str(n) for n in preds["label_names"]]
    for scope in ("joint", "a"):
        y, p = preds["test_labels"], preds[f"test_probs_{scope}"].argmax(1)
        expected = f1_score(y, p, average=None, labels=list(range(len(names))), zero_division=np.nan)
        got = [saved_run.result["test"][scope][f"f1_class_{n}"] for n in names]
        np.testing.assert_allclose(got, expected, equal_nan=True)
        assert saved_run.result["test"][scope]["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    assert all(not math.isnan(v) for v in (saved_run.result["test"]["joint"]["macro_f1"],))


def test_evaluate_command_prints_strict_json(saved_run, capsys):
    assert main(["evaluate", str(saved_run.path), "--mask", "v", "--json"]) == 0

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    printed = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert printed["mask"] == "v" and set(printed) >= {"dev", "test"}
    assert (saved_run.path / "evaluations" / "synthetic-mask-v.json").is_file()


def test_evaluate_command_prints_a_table_of_the_change(saved_run, capsys):
    assert main(["evaluate", str(saved_run.path), "--mask", "v"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["split", "metric", "intact", "masked", "change"]
    test_wf1 = next(line.split() for line in lines if line.split()[:2] == ["test", "wf1"])
    intact, masked, change = map(float, test_wf1[2:])
    assert intact == pytest.approx(saved_run.result["test"]["joint"]["wf1"], abs=1e-4)
    assert change == pytest.approx(masked - intact, abs=2e-4)
    assert lines[-1].startswith(f"wrote {saved_run.path / 'evaluations' / 'synthetic-mask-v.json'}")
    assert len(lines) < 30
