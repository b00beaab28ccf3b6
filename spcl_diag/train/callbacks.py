"""Callbacks of the training loop, and the experiment loggers built on them.

A callback is any object with the two methods of :class:`Callback`; the loop calls
``on_epoch_end`` after every epoch's evaluation with that epoch's tidy rows (the rows
``epochs.csv`` gets) and difficulty scores, and :func:`spcl_diag.runs.execute.run` calls
``on_run_end`` with the run's ``result.json`` content once the run is written (also when it
failed: ``result["status"] == "failed"``). Subclass :class:`Callback` and override what you
need::

    class PrintLambda(Callback):
        def on_epoch_end(self, event):
            print(event.epoch, event.value("lambda"))

Three loggers come with the package, each behind an optional extra:

* :class:`TensorBoardLogger` (``pip install "spcl_diag[tensorboard]"``): event files in the
  run directory through ``torch.utils.tensorboard``;
* :class:`WandbLogger` (``[wandb]``): a W&B run, ``mode="offline"`` writes only locally;
* :class:`MlflowLogger` (``[mlflow]``): an MLflow run in a local SQLite store.

Scalar tags are ``<split>/<scope>/<metric>`` (``dev/joint/wf1``, ``train/a/grad_norm``).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spcl_diag.config.settings import dotted_keys

Row = tuple[int, str, str, str, float]  # epoch, split, scope, metric, value
LOGGERS: tuple[str, ...] = ("tensorboard", "wandb", "mlflow")


@dataclass(frozen=True)
class EpochEnd:
    """What the loop knows at the end of an epoch."""

    epoch: int  # 1-based
    rows: list[Row]  # this epoch's tidy rows, as written to epochs.csv
    difficulty: np.ndarray  # [U_train] difficulty d of every training utterance this epoch
    kept: np.ndarray  # [U_train] bool, selected by the curriculum this epoch

    def value(self, metric: str, *, split: str = "train", scope: str = "joint") -> float:
        """The value of one row (NaN when the epoch has no such row)."""
        for _, s, c, m, v in self.rows:
            if (s, c, m) == (split, scope, metric):
                return float(v)
        return float("nan")

    def scalars(self) -> dict[str, float]:
        """``<split>/<scope>/<metric>`` -> value for every row."""
        return {f"{s}/{c}/{m}": float(v) for _, s, c, m, v in self.rows}


class Callback:
    """Base class (and protocol) of loop callbacks: both methods do nothing by default."""

    def on_epoch_end(self, event: EpochEnd) -> None:
        """After an epoch's dev/test evaluation."""

    def on_run_end(self, result: Mapping[str, Any]) -> None:
        """After the run directory is written; release files and connections here."""


def _require(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"--log {extra} needs the {module.split('.')[0]!r} package: pip install \"spcl_diag[{extra}]\" "
            f"(in a clone of the repository: pip install -e \".[{extra}]\")."
        ) from None


def _summary(result: Mapping[str, Any]) -> dict[str, float]:
    """``result.json`` -> flat numeric ``test/<scope>/<metric>`` summaries."""
    out = {}
    for split in ("dev", "test"):
        for scope, metrics in result.get(split, {}).items():
            out.update({f"{split}/{scope}/{m}": float(v) for m, v in metrics.items()})
    return out


class TensorBoardLogger(Callback):
    """Every row as a scalar, the difficulty of the kept and of all utterances as histograms.

    Event files go to ``log_dir`` (the run directory's ``tensorboard/``); read them with
    ``tensorboard --logdir RUNS`` or ``tensorboard.backend.event_processing``.
    """

    def __init__(self, log_dir: str | Path):
        _require("tensorboard", "tensorboard")
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))

    def on_epoch_end(self, event: EpochEnd) -> None:
        for tag, value in event.scalars().items():
            self.writer.add_scalar(tag, value, event.epoch)
        if len(event.difficulty):
            self.writer.add_histogram("train/difficulty", event.difficulty, event.epoch)
            if event.kept.any():
                self.writer.add_histogram("train/difficulty_kept", event.difficulty[event.kept], event.epoch)
        self.writer.flush()

    def on_run_end(self, result: Mapping[str, Any]) -> None:
        for tag, value in _summary(result).items():
            self.writer.add_scalar(f"best/{tag}", value, int(result.get("best_epoch", 0)))
        self.writer.close()


class WandbLogger(Callback):
    """A W&B run with the config; ``mode="offline"`` (default) writes under ``directory`` only."""

    def __init__(self, directory: str | Path, *, name: str, config: Mapping[str, Any], mode: str = "offline"):
        wandb = _require("wandb", "wandb")
        self.run = wandb.init(dir=str(directory), name=name, config=dict(config), mode=mode, reinit=True)

    def on_epoch_end(self, event: EpochEnd) -> None:
        self.run.log({**event.scalars(), "epoch": event.epoch}, step=event.epoch)

    def on_run_end(self, result: Mapping[str, Any]) -> None:
        self.run.summary.update({**_summary(result), "status": result.get("status")})
        self.run.finish()


class MlflowLogger(Callback):
    """An MLflow run in ``tracking_uri`` (default: the SQLite store ``<directory>/mlflow.db``).

    MLflow 3 refuses its old file store by default, so the local default is SQLite; pass any
    tracking URI (a server, ``file:...``) to log elsewhere.
    """

    def __init__(self, directory: str | Path, *, name: str, config: Mapping[str, Any], tracking_uri: str | None = None):
        mlflow = _require("mlflow", "mlflow")
        uri = tracking_uri or f"sqlite:///{(Path(directory) / 'mlflow.db').resolve()}"
        self.client = mlflow.tracking.MlflowClient(uri)
        experiment = self.client.get_experiment_by_name("spcl_diag")
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment("spcl_diag")
        self.run_id = self.client.create_run(experiment_id, run_name=name).info.run_id
        for key, value in dotted_keys(config).items():
            self.client.log_param(self.run_id, key, value)

    def on_epoch_end(self, event: EpochEnd) -> None:
        for tag, value in event.scalars().items():
            self.client.log_metric(self.run_id, tag.replace("/", "."), value, step=event.epoch)

    def on_run_end(self, result: Mapping[str, Any]) -> None:
        for tag, value in _summary(result).items():
            self.client.log_metric(self.run_id, f"best.{tag.replace('/', '.')}", value)
        self.client.set_terminated(self.run_id, status="FINISHED" if result.get("status") == "ok" else "FAILED")


def make_loggers(
    names: tuple[str, ...] | list[str], run_dir: Path, out_dir: Path, *, name: str, config: Mapping[str, Any]
) -> list[Callback]:
    """The loggers named in ``names`` (from :data:`LOGGERS`).

    TensorBoard writes into ``run_dir/tensorboard``; W&B and MLflow keep one store for a
    folder of runs, ``out_dir/wandb`` and ``out_dir/mlflow.db``.
    """
    unknown = [n for n in names if n not in LOGGERS]
    if unknown:
        raise ValueError(f"unknown logger(s) {', '.join(unknown)}; valid loggers are {', '.join(LOGGERS)}.")
    loggers: list[Callback] = []
    for logger in names:
        if logger == "tensorboard":
            loggers.append(TensorBoardLogger(run_dir / "tensorboard"))
        elif logger == "wandb":
            loggers.append(WandbLogger(out_dir, name=name, config=config))
        else:
            loggers.append(MlflowLogger(out_dir, name=name, config=config))
    return loggers
