"""The loop's callbacks and the loggers built on them, read back with their own readers."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from spcl_diag.data.registry import resolve_dataset
from spcl_diag.train.callbacks import (
    Callback,
    EpochEnd,
    MlflowLogger,
    TensorBoardLogger,
    WandbLogger,
    make_loggers,
)
from spcl_diag.train.loop import train_run


class Recorder(Callback):
    def __init__(self) -> None:
        self.events: list[EpochEnd] = []

    def on_epoch_end(self, event: EpochEnd) -> None:
        self.events.append(event)


def test_callbacks_see_every_row_and_tensorboard_writes_them(tiny_config, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = tiny_config.paired("spcl").resolved()
    dataset = resolve_dataset(config.dataset, config.data, modalities=config.modalities)
    recorder, board = Recorder(), TensorBoardLogger(tmp_path)
    outcome = train_run(config, dataset, device=torch.device("cpu"), callbacks=[recorder, board])
    board.on_run_end({"best_epoch": outcome.best_epoch, "test": {"joint": {"wf1": 0.5}}})

    assert [e.epoch for e in recorder.events] == list(range(1, config.train.epochs + 1))
    assert [r for e in recorder.events for r in e.rows] == outcome.rows  # every row, once, in order
    np.testing.assert_array_equal(recorder.events[-1].difficulty, outcome.trajectories["d"][-1])

    events = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {f"{s}/{c}/{m}" for _, s, c, m, _ in outcome.rows} <= tags
    lam = [(e.step, e.value) for e in events.Scalars("train/joint/lambda")]
    expected = [(e, v) for e, s, c, m, v in outcome.rows if (s, c, m) == ("train", "joint", "lambda")]
    assert [s for s, _ in lam] == [e for e, _ in expected]
    np.testing.assert_allclose([v for _, v in lam], [v for _, v in expected], rtol=1e-6)
    assert {"train/difficulty", "train/difficulty_kept"} <= set(events.Tags()["histograms"])
    assert events.Scalars("best/test/joint/wf1")[0].value == pytest.approx(0.5)


def test_event_helpers_and_unknown_loggers(tmp_path):
    event = EpochEnd(epoch=2, rows=[(2, "train", "joint", "lambda", 0.5)], difficulty=np.zeros(0), kept=np.zeros(0, bool))
    assert event.value("lambda") == 0.5 and np.isnan(event.value("wf1", split="dev"))
    assert event.scalars() == {"train/joint/lambda": 0.5}
    with pytest.raises(ValueError, match="valid loggers are tensorboard, wandb, mlflow"):
        make_loggers(["neptune"], tmp_path, tmp_path, name="x", config={})


def test_a_missing_logger_package_names_both_installs(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # makes the import fail
    with pytest.raises(ImportError) as err:
        WandbLogger(tmp_path, name="x", config={})
    assert str(err.value) == (
        "--log wandb needs the 'wandb' package: pip install \"spcl_diag[wandb]\" "
        "(in a clone of the repository: pip install -e \".[wandb]\")."
    )


def _one_epoch() -> EpochEnd:
    return EpochEnd(epoch=1, rows=[(1, "dev", "joint", "wf1", 0.25)], difficulty=np.ones(3), kept=np.ones(3, bool))


def test_wandb_offline(tmp_path):
    pytest.importorskip("wandb", reason="wandb is an optional extra, not in the test extra (too heavy)")
    logger = WandbLogger(tmp_path, name="r", config={"seed": 0}, mode="offline")
    logger.on_epoch_end(_one_epoch())
    logger.on_run_end({"status": "ok", "test": {"joint": {"wf1": 0.5}}})
    assert list(tmp_path.glob("wandb/offline-run-*"))


def test_mlflow_local_store(tmp_path):
    pytest.importorskip("mlflow", reason="mlflow is an optional extra, not in the test extra (too heavy)")
    import mlflow

    logger = MlflowLogger(tmp_path, name="r", config={"train": {"lr": 0.1}})
    logger.on_epoch_end(_one_epoch())
    logger.on_run_end({"status": "ok", "test": {"joint": {"wf1": 0.5}}})
    client = mlflow.tracking.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.get_run(logger.run_id)
    assert run.data.params["train.lr"] == "0.1" and run.data.metrics["best.test.joint.wf1"] == 0.5
