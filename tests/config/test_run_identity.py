"""One identity for every writer of a run folder (issue 26 item 3).

``run`` and ``RunRecorder`` give a ``RunConfig`` the same run id; a feature file is the same
experiment wherever it lies (absolute path, relative path, a copy); ``config.json`` records every
resolved field without changing the id; the folder check and ``load_runs`` agree on a folder.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import numpy as np
import pytest
import torch

from spcl_diag import RunConfig, RunRecorder, SelfPacedCurriculum, load_runs, run
from spcl_diag.config.file import read_config_file, write_config_file
from spcl_diag.config.identity import folder_run_id, identity_payload, payload_run_id, stored_run_id
from spcl_diag.data.loaders import write_bundle
from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
from spcl_diag.models import backbone_config
from spcl_diag.runs import directory as rd

from ..conftest import TINY


def _bundle(path, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bundle(make_synthetic(SyntheticConfig(n_dialogues=16, min_length=3, max_length=6, seed=seed)), path)
    return path


def _record(out, config):
    """A one-step recorded run of ``config`` (two classes of random probabilities)."""
    rng = np.random.default_rng(0)
    n, classes = 6, 2
    labels, dialogue = rng.integers(0, classes, n), np.repeat(["d0", "d1"], 3)
    recorder = RunRecorder(out, config, labels=labels, dialogue_ids=dialogue)
    curriculum = SelfPacedCurriculum(config.curriculum, lambda0=0.5, growth=2.0)
    logits = {m: torch.randn(n, classes, requires_grad=True) for m in config.modalities}
    joint = sum(logits.values())
    step = curriculum.step(joint, logits, torch.as_tensor(labels), torch.tensor([0, 0, 0, 1, 1, 1]))
    recorder.record(step, np.arange(n))
    probs = {"joint": joint.softmax(-1), **{m: z.softmax(-1) for m, z in logits.items()}}
    preds = {"labels": labels, "probs": probs, "dialogue_id": dialogue}
    return recorder, recorder.finish(curriculum, dev=preds, test=preds)


def test_run_and_recorder_give_a_run_config_the_same_id(tmp_path, tiny_config):
    _, recorded = _record(tmp_path / "recorded", tiny_config)
    trained = run(tiny_config, tmp_path / "trained", device="cpu", progress=False)
    assert recorded.run_id == trained.run_id == tiny_config.run_id() == payload_run_id(identity_payload(tiny_config))
    for result in (recorded, trained):  # both store the payload their name hashes
        metadata = json.loads((result.path / rd.CONFIG).read_text())
        assert metadata["identity"] == identity_payload(tiny_config)
        assert folder_run_id(metadata) == result.run_id


def test_a_recorded_mapping_keeps_its_id_and_stores_it(tmp_path):
    settings = {"curriculum": "none", "seed": 0, "modalities": "ta", "dataset": "toy"}
    recorder = RunRecorder(tmp_path, settings, labels=[0, 1], dialogue_ids=["d", "d"])
    full = {"backbone": "custom", "balancing": "none", **settings}
    assert recorder.run_id == payload_run_id(full) and recorder.identity == full


def test_a_file_is_identified_by_content_not_path(tmp_path, tiny_config, monkeypatch):
    absolute = _bundle(tmp_path / "laptop" / "features.npz")
    copy = tmp_path / "cluster" / "renamed.npz"
    copy.parent.mkdir()
    shutil.copy(absolute, copy)
    monkeypatch.chdir(tmp_path)
    ids = {tiny_config.with_overrides({"dataset": str(p)}).run_id()
           for p in (absolute, os.path.relpath(absolute), copy)}
    assert len(ids) == 1
    payload = identity_payload(tiny_config.with_overrides({"dataset": str(copy)}))
    assert payload["dataset"] == "file:npz" and len(payload["data_content"]) == 16
    _bundle(copy, seed=1)  # other content at the same path: another experiment
    assert tiny_config.with_overrides({"dataset": str(copy)}).run_id() not in ids


def test_a_moved_file_resumes_and_the_dataset_column_is_its_name(tmp_path, tiny_config):
    path = _bundle(tmp_path / "a" / "features.npz")
    first = run(tiny_config.with_overrides({"dataset": str(path)}), tmp_path / "runs", device="cpu", progress=False)
    moved = tmp_path / "b" / "features.npz"
    moved.parent.mkdir()
    shutil.move(path, moved)
    again = run(tiny_config.with_overrides({"dataset": str(moved)}), tmp_path / "runs", device="cpu", progress=False)
    assert again.run_id == first.run_id and again.path == first.path  # read back, not trained again
    results = load_runs(tmp_path / "runs").results
    assert results["dataset"].tolist() == ["features.npz"]
    assert results["data_path"].tolist() == [str(path)]  # the path it was read from: metadata


def test_benchmark_ids_do_not_depend_on_the_file_rule():
    config = RunConfig(seed=4)
    assert identity_payload(config)["dataset"] == "synthetic"
    assert identity_payload(config) == config.identity()


def test_the_resolved_config_holds_every_model_field_and_keeps_the_id(tmp_path, tiny_config):
    resolved = tiny_config.resolved()
    defaults = dataclasses.asdict(backbone_config("late_fusion"))
    assert set(resolved.model) == set(defaults) and resolved.model["drop_rate"] == defaults["drop_rate"]
    assert resolved.run_id() == tiny_config.run_id()
    assert RunConfig.from_dict(resolved.to_dict()).run_id() == tiny_config.run_id()
    written = read_config_file(write_config_file(resolved, tmp_path / "run.toml"))
    assert written.model == resolved.model and written.run_id() == tiny_config.run_id()
    result = run(tiny_config, tmp_path / "runs", device="cpu", progress=False)
    stored = json.loads((result.path / rd.CONFIG).read_text())["config"]["model"]
    assert stored == {**defaults, "hidden_dim": TINY["model.hidden_dim"], "feedforward_dim": TINY["model.feedforward_dim"]}


def test_a_model_override_equal_to_the_default_is_the_default_experiment(tiny_config):
    assert tiny_config.with_overrides({"model.drop_rate": 0.5}).run_id() == tiny_config.run_id()
    assert tiny_config.with_overrides({"model.drop_rate": 0.25}).run_id() != tiny_config.run_id()


@pytest.mark.parametrize("tamper", [False, True])
def test_the_folder_check_and_load_runs_agree(tmp_path, tiny_config, tamper):
    result = run(tiny_config, tmp_path, device="cpu", progress=False)
    if tamper:  # a folder whose config.json is another run's
        metadata = json.loads((result.path / rd.CONFIG).read_text())
        metadata["identity"]["seed"] += 1
        (result.path / rd.CONFIG).write_text(json.dumps(metadata))
    metadata = json.loads((result.path / rd.CONFIG).read_text())
    assert (stored_run_id(metadata) == result.run_id) is (not tamper)
    complete = rd.run_state(result.path, result.run_id) == "complete"
    with pytest.warns(UserWarning) if tamper else _no_warning():
        results = load_runs(tmp_path).results
    loaded = "run_id" in results and result.run_id in set(results["run_id"])
    assert complete is loaded is (not tamper)


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
