"""``RunRecorder``: write a run directory from a researcher's own training loop.

The directory has the format of the built-in loop's (:mod:`spcl_diag.runs.directory`):
``config.json``, ``epochs.csv``, ``difficulty.npz``, ``pacing.npz``, ``predictions.npz`` and
``result.json``, written with the same writers and published atomically under the run id, so
:func:`~spcl_diag.runs.loading.load_runs`, :func:`~spcl_diag.stats.comparison.compare`, the
figures and the report read it unchanged. The post-training masked and permuted evaluation
(Shapley, conditional utilisation, perceptual score) needs a model with the toolkit's
interface (:class:`~spcl_diag.models.base.Backbone`): compute it with
:func:`~spcl_diag.evaluation.contribution.contribution_scores` and pass it to
:meth:`RunRecorder.finish` (``contribution=``) to record it as a built-in run does.

Use it beside a :class:`~spcl_diag.curriculum.self_paced.SelfPacedCurriculum`::

    recorder = RunRecorder("runs", {"curriculum": "spcl", "seed": 0, "modalities": "ta"},
                           labels=train_labels, dialogue_ids=train_dialogues)
    ...                                        # in the loop, after curriculum.step(...)
    recorder.record(step, index)               # index: rows of the batch in the training set
    recorder.log_predictions("dev", probs, labels)   # once per epoch, probs per scope
    ...
    result = recorder.finish(curriculum, dev=dev_predictions, test=test_predictions)

``docs/extending.md`` has a complete example.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from spcl_diag.config.identity import identity_payload, payload_run_id
from spcl_diag.config.schema import RunConfig
from spcl_diag.curriculum.self_paced import CurriculumStep, SelfPacedCurriculum
from spcl_diag.evaluation.contribution import Contribution
from spcl_diag.modalities import parse_modalities
from spcl_diag.runs import directory as rd
from spcl_diag.runs.lifecycle import RunResult
from spcl_diag.runs.writer import run_metadata, write_predictions
from spcl_diag.train.loop import Row, split_rows

REQUIRED_KEYS: tuple[str, ...] = ("curriculum", "seed", "modalities")
DEFAULTS: dict[str, Any] = {"dataset": "custom", "backbone": "custom", "balancing": "none"}
Predictions = Mapping[str, Any]  # {"labels": [U], "probs": {scope: [U, C]}, "dialogue_id": [U]}


def _host(values: Any) -> np.ndarray:
    return values.detach().cpu().numpy() if isinstance(values, Tensor) else np.asarray(values)


class RunRecorder:
    """Collects a custom loop's instrumentation and writes it as a run directory.

    Parameters
    ----------
    out_dir
        Folder of run directories; the run lands in ``<out_dir>/<run_id>``.
    config
        The run's settings, a :class:`~spcl_diag.config.schema.RunConfig` or a JSON-able
        mapping. A mapping needs ``curriculum`` (the arm: compare() pairs arms by seed),
        ``seed`` and ``modalities``; ``dataset``, ``backbone`` and ``balancing`` default to
        ``"custom"``, ``"custom"`` and ``"none"``; any other keys (``{"train": {"lr":
        1e-3}}``) are kept and become ``load_runs`` columns (``train.lr``). The run id is the
        hash of this mapping: the same settings are the same run. A ``RunConfig`` gets the
        run id :func:`~spcl_diag.runs.execute.run` gives it (its identity payload,
        :func:`~spcl_diag.config.identity.identity_payload`).
    labels, dialogue_ids
        ``[U]`` gold class and dialogue id of each training utterance, in the order of the
        ``index`` given to :meth:`record`.
    speakers
        ``[U]`` speaker of each training utterance (zeros when omitted).
    class_names
        Names of the classes in label order, for the per-class F1 columns
        (``f1_class_<name>``); the class indices when omitted.

    Raises
    ------
    FileExistsError
        When ``<out_dir>/<run_id>`` already holds a run: nothing is overwritten.
    """

    def __init__(
        self,
        out_dir: str | Path,
        config: RunConfig | Mapping[str, Any],
        *,
        labels: Any,
        dialogue_ids: Any,
        speakers: Any = None,
        class_names: Sequence[str] | None = None,
    ) -> None:
        if isinstance(config, RunConfig):  # the id run() gives it: one identity function for both
            self.config: dict[str, Any] = config.resolved().to_dict()
            self.identity: dict[str, Any] = identity_payload(config)
        else:
            values = {**DEFAULTS, **dict(config)}
            missing = [k for k in REQUIRED_KEYS if k not in values]
            if missing:
                raise ValueError(f"RunRecorder: config needs {', '.join(missing)}; got keys {', '.join(sorted(values))}.")
            values["modalities"] = parse_modalities(str(values["modalities"]))
            self.config = json.loads(json.dumps(values))
            self.identity = self.config  # a researcher's settings are the experiment
        self.run_id = payload_run_id(self.identity)
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        if (self.out / self.run_id).exists():
            raise FileExistsError(
                f"{self.out / self.run_id} already holds a run with these settings; nothing is overwritten. "
                "Record into another folder or change a setting (e.g. the seed)."
            )
        self.labels = _host(labels).astype(np.int64)
        self.dialogue_ids = _host(dialogue_ids).astype(str)
        self.speakers = np.zeros_like(self.labels) if speakers is None else _host(speakers).astype(np.int64)
        n = len(self.labels)
        if self.dialogue_ids.shape != (n,) or self.speakers.shape != (n,):
            raise ValueError(
                f"RunRecorder: labels, dialogue_ids and speakers need one entry per training utterance; "
                f"got shapes {self.labels.shape}, {self.dialogue_ids.shape}, {self.speakers.shape}."
            )
        self.class_names = None if class_names is None else tuple(str(c) for c in class_names)
        self.rows: list[Row] = []
        self._trajectories: dict[int, dict[str, np.ndarray]] = {}  # 0-based epoch -> host buffers
        self._buffers: dict[str, Tensor] = {}
        self._epoch = -1  # 0-based epoch of the steps being recorded
        self._lambda = float("nan")
        self._started = time.perf_counter()

    @property
    def epoch(self) -> int:
        """The 1-based epoch that :meth:`log` and :meth:`log_predictions` write to."""
        return max(self._epoch, 0) + 1

    def record(self, step: CurriculumStep, index: Any) -> None:
        """Keep one batch's difficulty terms and selection (``index``: ``[N]`` training-set rows)."""
        if step.epoch != self._epoch:
            self._close_epoch()
            self._epoch, self._lambda = step.epoch, step.threshold
            device = step.keep.device
            n = len(self.labels)
            self._buffers = {key: torch.zeros(n, device=device) for key in "lcd"}
            self._buffers["v"] = torch.zeros(n, dtype=torch.bool, device=device)
        idx = torch.as_tensor(_host(index), dtype=torch.long, device=step.keep.device)
        terms = step.difficulty
        for key, values in zip("lcdv", (terms.utterance, terms.conversation, terms.difficulty, step.keep)):
            self._buffers[key][idx] = values.detach()

    def log(self, split: str, scope: str, metric: str, value: float) -> None:
        """One tidy row ``(epoch, split, scope, metric, value)`` of the current epoch."""
        self.rows.append((self.epoch, split, scope, metric, float(value)))

    def log_predictions(self, split: str, probs: Mapping[str, Any], labels: Any) -> None:
        """Accuracy, weighted-F1, loss, ... per scope (and disparity ratios) of ``split`` this epoch.

        ``probs`` maps ``"joint"`` and each modality to ``[U, C]`` probabilities.
        """
        host = {scope: _host(p) for scope, p in probs.items()}
        names = self.class_names or tuple(str(c) for c in range(host["joint"].shape[1]))
        self.rows += split_rows(self.epoch, split, host, _host(labels), self.config["modalities"], names)

    def finish(
        self,
        curriculum: SelfPacedCurriculum,
        *,
        dev: Predictions,
        test: Predictions,
        best_epoch: int | None = None,
        contribution: Contribution | None = None,
    ) -> RunResult:
        """Write and publish the run directory; return its :class:`~spcl_diag.runs.lifecycle.RunResult`.

        Parameters
        ----------
        curriculum
            The loop's curriculum: its per-batch counts become ``pacing.npz`` (what ``random``
            and ``anti`` replay).
        dev, test
            ``{"labels": [U], "probs": {"joint": [U, C], m: [U, C], ...}, "dialogue_id": [U]}``
            at the selected epoch.
        best_epoch
            The selected (1-based) epoch; the last one by default.
        contribution
            :func:`~spcl_diag.evaluation.contribution.contribution_scores` of the selected model
            on the test split: its scores join ``result.json``'s ``imbalance`` and its masked
            probabilities ``predictions.npz``, as for a run of :func:`~spcl_diag.runs.execute.run`.
        """
        self._close_epoch()
        n_epochs = max(self._trajectories, default=-1) + 1
        if n_epochs == 0:
            raise ValueError("RunRecorder.finish: no training step was recorded.")
        predictions = {name: self._predictions(name, preds) for name, preds in (("dev", dev), ("test", test))}
        tmp = rd.temporary_dir(self.out, self.run_id)
        device = self._buffers["v"].device if self._buffers else torch.device("cpu")
        metadata = {**run_metadata(self.run_id, self.config, device), "identity": self.identity, "recorded_by": "RunRecorder"}
        rd.write_json(tmp / rd.CONFIG, metadata)
        rd.write_epochs(tmp / rd.EPOCHS, sorted(self.rows, key=lambda row: row[0]))
        empty = {key: np.zeros(len(self.labels), bool if key == "v" else np.float32) for key in "lcdv"}
        epochs = [self._trajectories.get(e, empty) for e in range(n_epochs)]  # an epoch without steps: zeros
        trajectories = {key: np.stack([t[key] for t in epochs]) for key in "lcdv"}
        position = _positions(self.dialogue_ids)
        rd.write_difficulty(tmp / rd.DIFFICULTY, trajectories, dialogue_id=self.dialogue_ids, position=position,
                            label=self.labels, speaker=self.speakers)
        curriculum.pacing_record().save(str(tmp / rd.PACING))
        scores, imbalance = write_predictions(tmp, predictions, self.config["modalities"], label_names=self.class_names,
                                              extra=contribution.masked_arrays() if contribution else None)
        imbalance.update(contribution.scores if contribution else {})
        wall = time.perf_counter() - self._started
        result = {
            "run_id": self.run_id, "status": "ok", "best_epoch": int(best_epoch or n_epochs), "epochs": n_epochs,
            "dev": scores["dev"], "test": scores["test"], "imbalance": imbalance, "wall_seconds": wall,
        }
        rd.write_json(tmp / rd.RESULT, result)
        rd.publish(tmp, self.out / self.run_id)
        return RunResult(run_id=self.run_id, path=self.out / self.run_id, status="ok", result=result)

    # ------------------------------------------------------------------ helpers
    def _close_epoch(self) -> None:
        """Move the finished epoch's buffers to the host and log its lambda and kept fraction."""
        if not self._buffers or self._epoch in self._trajectories:
            return
        host = {key: buf.cpu().numpy() for key, buf in self._buffers.items()}
        self._trajectories[self._epoch] = host
        e = self._epoch + 1
        self.rows += [(e, "train", "joint", "lambda", self._lambda),
                      (e, "train", "joint", "kept_fraction", float(host["v"].mean()))]

    def _predictions(self, split: str, preds: Predictions) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        missing = [k for k in ("labels", "probs", "dialogue_id") if k not in preds]
        if missing:
            raise ValueError(f"RunRecorder.finish: {split} predictions need {', '.join(missing)}.")
        labels = _host(preds["labels"]).astype(np.int64)
        probs = {scope: _host(p).astype(np.float32) for scope, p in preds["probs"].items()}
        dialogue = _host(preds["dialogue_id"]).astype(str)
        wanted = {"joint", *self.config["modalities"]}
        problems = [f"probs lacks scope {s!r}" for s in sorted(wanted - set(probs))]
        problems += [f"probs[{s!r}] has shape {p.shape}, expected ({len(labels)}, C)"
                     for s, p in probs.items() if p.ndim != 2 or p.shape[0] != len(labels)]
        if dialogue.shape != labels.shape:
            problems.append(f"dialogue_id has shape {dialogue.shape}, expected {labels.shape}")
        if problems:
            raise ValueError(f"RunRecorder.finish: {split} predictions: " + "; ".join(problems) + ".")
        return labels, probs, dialogue


def _positions(dialogue_ids: np.ndarray) -> np.ndarray:
    """Position of each utterance within its dialogue, counting in the given order."""
    _, inverse = np.unique(dialogue_ids, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    sorted_ids = inverse[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    counts = np.diff(np.r_[starts, len(sorted_ids)])
    position = np.empty(len(dialogue_ids), np.int64)
    position[order] = np.arange(len(sorted_ids)) - np.repeat(starts, counts)
    return position
