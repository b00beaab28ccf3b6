"""RunRecorder: a custom loop writes the run directory that load_runs, compare and the report read."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from spcl_diag import RunRecorder, SelfPacedCurriculum, compare, load_runs
from spcl_diag.runs import directory as rd
from spcl_diag.runs.loading import load_difficulty, load_predictions

N_DIALOGUES, LENGTH, N_CLASSES = 12, 4, 3


def _data():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, N_CLASSES, N_DIALOGUES * LENGTH)
    dialogue = np.repeat(np.arange(N_DIALOGUES), LENGTH)
    x = {m: torch.tensor(np.eye(N_CLASSES)[labels] + rng.normal(scale=s, size=(len(labels), N_CLASSES)),
                         dtype=torch.float32) for m, s in (("t", 0.5), ("a", 2.0))}
    return labels, dialogue, x


def _train(out, arm: str, seed: int, n_epochs: int = 3, contribution=None):
    labels, dialogue, x = _data()
    y = torch.tensor(labels)
    train_rows, test_rows = np.flatnonzero(dialogue < 8), np.flatnonzero(dialogue >= 8)
    torch.manual_seed(seed)
    heads = nn.ModuleDict({m: nn.Linear(N_CLASSES, N_CLASSES) for m in "ta"})
    optimiser = torch.optim.SGD(heads.parameters(), lr=0.5)

    def forward(rows):
        per_modality = {m: heads[m](x[m][rows]) for m in "ta"}
        return per_modality["t"] + per_modality["a"], per_modality

    def predictions(rows):
        with torch.no_grad():
            joint, per_modality = forward(torch.from_numpy(rows))
        probs = {"joint": joint.softmax(-1), **{m: z.softmax(-1) for m, z in per_modality.items()}}
        return {"labels": labels[rows], "probs": probs, "dialogue_id": dialogue[rows]}

    curriculum = SelfPacedCurriculum(arm, lambda0=0.5, growth=2.0)
    recorder = RunRecorder(out, {"curriculum": arm, "seed": seed, "modalities": "ta", "dataset": "toy"},
                           labels=labels[train_rows], dialogue_ids=dialogue[train_rows])
    order = np.random.default_rng(seed)
    for _ in range(n_epochs):
        for batch in np.array_split(order.permutation(len(train_rows)), 2):
            rows = torch.from_numpy(train_rows[batch])
            joint, per_modality = forward(rows)
            step = curriculum.step(joint, per_modality, y[rows], torch.from_numpy(dialogue[train_rows[batch]]))
            optimiser.zero_grad()
            step.loss.backward()
            optimiser.step()
            recorder.record(step, batch)
        dev = predictions(test_rows)
        recorder.log_predictions("dev", dev["probs"], dev["labels"])
        curriculum.epoch_end()
    return recorder.finish(curriculum, dev=dev, test=predictions(test_rows), contribution=contribution)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("recorded")
    results = [_train(out, arm, seed) for arm in ("none", "spcl") for seed in range(3)]
    return out, results


def test_recorded_runs_have_the_run_directory_format(recorded):
    _, results = recorded
    spcl = results[3]  # spcl, seed 0
    assert rd.read_json(spcl.path / rd.CONFIG)["config"]["curriculum"] == "spcl"
    assert all(rd.is_complete(r.path) for r in results)
    traj = load_difficulty(spcl.path)
    assert traj["d"].shape == (32, 3) and traj["d"].dtype == np.float16 and traj["v"].dtype == bool
    assert traj["position"].tolist() == [0, 1, 2, 3] * 8
    assert sorted(set(traj["dialogue_id"])) == [str(k) for k in range(8)]
    with np.load(spcl.path / rd.PACING) as pacing:
        assert pacing["kept"].shape == (3, 2) and pacing["kept"].sum() == traj["v"].sum()
        assert (pacing["size"] == 16).all()
    assert traj["v"][:, 0].mean() < 1  # lambda0 = 0.5 leaves some utterances out at first
    preds = load_predictions(spcl.path)
    assert set(preds) >= {"test_labels", "test_probs_joint", "test_probs_t", "test_probs_a", "dev_dialogue_id"}


def test_load_runs_and_compare_read_recorded_runs(recorded):
    out, _ = recorded
    tables = load_runs(out)
    assert sorted(tables.results["curriculum"]) == ["none"] * 3 + ["spcl"] * 3
    assert {"test_wf1", "test_acc_t", "test_disparity_ratio_a"} <= set(tables.results.columns)
    kept = tables.epochs.query("metric == 'kept_fraction' and curriculum == 'none'")["value"]
    assert len(kept) == 9 and (kept == 1).all()
    lam = tables.epochs.query("metric == 'lambda' and curriculum == 'spcl'").groupby("epoch")["value"].first()
    assert lam.tolist() == [0.5, 1.0, 2.0]
    assert set(tables.epochs.query("split == 'dev'")["scope"]) == {"joint", "t", "a"}
    table = compare(tables, "test_wf1", baseline="none", by=("dataset",), rng=np.random.default_rng(0))
    assert table["arm"].tolist() == ["spcl"] and table["n_seeds"].tolist() == [3]


def test_report_works_on_recorded_runs_and_shows_its_progress(recorded, tmp_path, capsys):
    from spcl_diag.report import write_report

    out, _ = recorded
    path = write_report(out, tmp_path / "report.md", progress=True)
    assert "spcl" in path.read_text()
    shown = capsys.readouterr().err
    assert "report: 100%" in shown and "6/6" in shown
    write_report(out, tmp_path / "quiet.md", progress=False)
    assert "report:" not in capsys.readouterr().err


def test_the_same_settings_are_never_overwritten(recorded):
    out, _ = recorded
    labels, dialogue, _ = _data()
    with pytest.raises(FileExistsError, match="already holds a run"):
        RunRecorder(out, {"curriculum": "spcl", "seed": 0, "modalities": "ta", "dataset": "toy"},
                    labels=labels[:32], dialogue_ids=dialogue[:32])
    with pytest.raises(ValueError, match="config needs seed"):
        RunRecorder(out, {"curriculum": "spcl", "modalities": "ta"}, labels=labels, dialogue_ids=dialogue)


def test_finish_names_what_is_wrong_with_the_predictions(tmp_path):
    labels, dialogue, _ = _data()
    recorder = RunRecorder(tmp_path, {"curriculum": "none", "seed": 0, "modalities": "ta"},
                           labels=labels, dialogue_ids=dialogue)
    curriculum = SelfPacedCurriculum("none")
    joint = torch.zeros(4, N_CLASSES, requires_grad=True)
    step = curriculum.step(joint, {"t": joint.detach(), "a": joint.detach()}, torch.tensor(labels[:4]),
                           torch.tensor(dialogue[:4]))
    recorder.record(step, np.arange(4))
    bad = {"labels": labels[:4], "probs": {"joint": np.full((4, 3), 1 / 3)}, "dialogue_id": dialogue[:4]}
    with pytest.raises(ValueError, match="test predictions: probs lacks scope 'a'; probs lacks scope 't'"):
        recorder.finish(curriculum, dev={**bad, "probs": {s: np.full((4, 3), 1 / 3) for s in ("joint", "t", "a")}},
                        test=bad)
    assert list(tmp_path.iterdir()) == []  # checked before anything is written


def test_a_recorded_run_records_the_contribution_of_a_backbone(tmp_path):
    """contribution_scores takes any Backbone, splits and a generator; finish records it as run() does."""
    from spcl_diag.data.batching import DeviceSplit
    from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
    from spcl_diag.evaluation.contribution import contribution_scores
    from spcl_diag.models import build_backbone

    data = make_synthetic(SyntheticConfig(n_dialogues=10, max_length=6)).select_modalities("ta")
    torch.manual_seed(0)
    model = build_backbone("late_fusion", modalities="ta", dims=data.dims, n_classes=data.n_classes,
                           n_speakers=data.n_speakers, overrides={"hidden_dim": 8, "feedforward_dim": 16})
    test, train = DeviceSplit(data, "test", "cpu"), DeviceSplit(data, "train", "cpu")
    found = contribution_scores(model, test, reference=train, rng=np.random.default_rng(0), batch_size=4)
    again = contribution_scores(model, test, reference=train, rng=np.random.default_rng(0), batch_size=4)
    assert found.scores == again.scores and sorted(found.masked) == ["", "a", "t", "ta"]
    result = _train(tmp_path, "none", 0, contribution=found)
    assert result.result["imbalance"]["shapley_wf1"] == pytest.approx(found.scores["shapley_wf1"])
    with np.load(result.path / rd.PREDICTIONS) as arrays:
        np.testing.assert_array_equal(arrays["test_masked_probs_t"], found.masked["t"].probs["joint"])
