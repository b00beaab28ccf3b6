"""The run writer: a run's temporary folder, ``config.json``, the files of its outcome or failure, publication.

What each file holds is :mod:`spcl_diag.runs.directory`'s; this module writes them for
:func:`~spcl_diag.runs.execute.run`, :func:`~spcl_diag.runs.stack.run_stack` and
:class:`~spcl_diag.runs.recorder.RunRecorder`. A run is written into a temporary folder and
published (renamed to its run id) only when every file is there, a failed run's ``error.txt``
and one-line reason included; an interrupted one is never published.
"""

from __future__ import annotations

import platform
import shutil
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spcl_diag._version import __version__
from spcl_diag.config.seeds import RunSeeds
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.errors import ConfigError, DataFormatError, RunSetupError
from spcl_diag.evaluation.checkpoint import save_checkpoint
from spcl_diag.evaluation.contribution import contribution_scores
from spcl_diag.evaluation.probe import probe_scores
from spcl_diag.metrics.classification import scope_scores
from spcl_diag.metrics.disparity import disparity_ratio
from spcl_diag.metrics.unimodal import unimodal_spread
from spcl_diag.runs import directory as rd
from spcl_diag.runs.lifecycle import RunPlan, RunResult
from spcl_diag.runs.notice import learned_nothing_notice, warn_learned_nothing
from spcl_diag.train.callbacks import Callback, make_loggers
from spcl_diag.train.loop import TrainingOutcome


def open_run_dir(
    plan: RunPlan, data: ConversationDataset, device: torch.device, *, log: Sequence[str] = (),
    callbacks: Sequence[Callback] = (), metadata: Mapping[str, Any] | None = None,
) -> tuple[Path, list[Callback]]:
    """Create the run's temporary directory with its ``config.json``; return it and the run's loggers and callbacks.

    ``metadata`` adds entries to ``config.json`` (a stacked run names its stack).
    """
    out, run_id, config, payload = plan.out, plan.run_id, plan.config, plan.payload
    try:
        tmp = rd.temporary_dir(out, run_id)
    except OSError as err:
        raise RunSetupError(f"run {run_id} could not start: cannot write to {out} ({err.strerror or err}); "
                            "choose another folder (--out).") from None
    try:
        hooks = [*make_loggers(tuple(log), tmp, out, name=run_id, config=config.to_dict()), *callbacks]
    except (ImportError, ValueError) as err:  # a logger's optional package is missing
        shutil.rmtree(tmp)
        raise RunSetupError(f"run {run_id} could not start: {one_line(err)}") from None
    info = run_metadata(run_id, config.to_dict(), device)
    info.update(identity=payload, dataset_fingerprint=data.fingerprint(), dataset_summary=data.summary())
    if config.plugins:
        info["plugins"] = payload["plugins"]  # name -> source hash
    info.update(metadata or {})
    rd.write_json(tmp / rd.CONFIG, info)
    return tmp, hooks


def finish_run(
    tmp: Path, plan: RunPlan, data: ConversationDataset, hooks: Sequence[Callback],
    train: Callable[[], TrainingOutcome], *, started: float, probe: bool, extra: Mapping[str, Any] | None = None,
) -> RunResult:
    """Call ``train``, write the outcome (or the failure it raised) into ``tmp`` and publish it as ``plan.final``.

    ``extra`` adds entries to ``result.json``, a failed one's too.
    """
    run_id, final = plan.run_id, plan.final
    try:
        outcome = train()
        result = write_outcome(tmp, plan, outcome, data, probe=probe, wall_seconds=time.perf_counter() - started,
                                extra=extra)
    except KeyboardInterrupt:  # Ctrl-C or a batch's signal: an unfinished run is never published
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except Exception as err:  # noqa: BLE001  (a failed run is recorded, never lost)
        (tmp / rd.ERROR).write_text(traceback.format_exc())
        result = {
            "run_id": run_id,
            "status": "failed",
            "error": one_line(err),
            "failed_epoch": getattr(err, "epoch", None),
            "wall_seconds": time.perf_counter() - started,
            **(extra or {}),
        }
        rd.write_json(tmp / rd.RESULT, result)
    for hook in hooks:
        hook.on_run_end(result)
    rd.publish(tmp, final)
    if result.get("notice"):
        warn_learned_nothing(result["notice"])
    return RunResult(run_id=run_id, path=final, status=result["status"], result=result)


def one_line(err: BaseException) -> str:
    """``Type: message`` on one line (a multi-line data error keeps its first line and a count)."""
    lines = str(err).strip().splitlines() or [""]
    text = lines[0] + (f" (and {len(lines) - 1} more lines)" if len(lines) > 1 else "")
    return text if isinstance(err, (DataFormatError, ConfigError, RunSetupError)) else f"{type(err).__name__}: {text}"


def run_metadata(run_id: str, config: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """The ``config.json`` payload: the config and the code, versions and device that ran it."""
    return {
        "run_id": run_id,
        "config": config,
        "package_version": __version__,
        "git_commit": rd.git_commit(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
    }


def write_predictions(
    tmp: Path,
    predictions: dict[str, tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]],
    modalities: str,
    *,
    label_names: Sequence[str] | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, Any]]:
    """Write ``predictions.npz``; return the scores per split and scope and the test imbalance summary.

    ``predictions[split] = (labels [U], probs {scope: [U, C]}, dialogue_id [U])`` for ``dev``
    and ``test``; the scores include macro-F1 and per-class F1 under ``label_names`` (class
    indices as names when None), stored as ``label_names``; ``extra`` arrays are stored
    beside them (the masked-evaluation probabilities). The summary holds the disparity ratio
    and the unimodal weighted-F1 spread of the test split when more than one modality is active.
    """
    n_classes = next(iter(predictions.values()))[1]["joint"].shape[1]
    names = tuple(label_names) if label_names is not None else tuple(str(c) for c in range(n_classes))
    arrays: dict[str, np.ndarray] = {**(extra or {}), "label_names": np.asarray(names, dtype=str)}
    scores: dict[str, dict[str, dict[str, float]]] = {}
    for split, (labels, probs, dialogue_id) in predictions.items():
        arrays[f"{split}_labels"] = labels
        arrays[f"{split}_dialogue_id"] = dialogue_id
        for scope, p in probs.items():
            arrays[f"{split}_probs_{scope}"] = p.astype(np.float32)
        scores[split] = scope_scores(probs, labels, names)
    rd.save_npz(tmp / rd.PREDICTIONS, **arrays)
    imbalance: dict[str, Any] = {}
    if len(modalities) > 1:
        labels, probs, _ = predictions["test"]
        per_modality = {m: probs[m] for m in modalities}
        imbalance["disparity_ratio"] = disparity_ratio(per_modality, labels)
        imbalance["unimodal_wf1_spread"] = unimodal_spread(per_modality, labels, score="wf1")
    return scores, imbalance


def write_outcome(
    tmp: Path, plan: RunPlan, outcome: TrainingOutcome, dataset: ConversationDataset, *, probe: bool,
    wall_seconds: float, extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write epochs, difficulty, pacing, predictions, checkpoint, probe and result files; return the result."""
    config = plan.config
    rd.write_epochs(tmp / rd.EPOCHS, outcome.rows)
    train = outcome.train_split
    traj = outcome.trajectories
    rd.write_difficulty(
        tmp / rd.DIFFICULTY,
        traj,
        dialogue_id=train.dialogue_ids[train.utterance_dialogue],
        position=np.arange(train.n_utterances) - np.repeat(train.offsets[:-1], train.lengths),
        label=train.labels_host,
        speaker=train.speakers_host,
    )
    outcome.pacing.save(str(tmp / rd.PACING))
    if config.train.checkpoint:
        save_checkpoint(tmp / rd.CHECKPOINT, outcome.model, config, dataset)
    if probe:
        splits = {"train": outcome.train_split, **outcome.eval_splits}
        rd.write_json(tmp / rd.PROBE, probe_scores(outcome.model, splits, batch_size=config.train.eval_batch_size))
    contribution: dict[str, Any] = {}
    masked_arrays: dict[str, np.ndarray] = {}
    if len(config.modalities) > 1:
        found = contribution_scores(
            outcome.model, outcome.eval_splits["test"], reference=outcome.train_split,
            rng=np.random.default_rng(RunSeeds.from_seed(config.seed).perceptual),
            batch_size=config.train.eval_batch_size, intact=outcome.predictions["test"],
        )
        contribution, masked_arrays = found.scores, found.masked_arrays()
    scores, imbalance = write_predictions(
        tmp,
        {split: (p.labels, p.probs, p.dialogue_ids[p.dialogue]) for split, p in outcome.predictions.items()},
        config.modalities,
        label_names=dataset.label_names,
        extra=masked_arrays,
    )
    imbalance.update(contribution)
    dev = outcome.predictions["dev"]
    notice = learned_nothing_notice(
        config, plan.run_id, scores["dev"]["joint"]["wf1"], train_labels=outcome.train_split.labels_host,
        dev_labels=dev.labels, n_classes=dev.probs["joint"].shape[1], class_names=dataset.label_names,
    )
    trained = len(outcome.epoch_seconds)  # fewer than configured when train.patience stopped the run
    result = {
        "run_id": plan.run_id,
        "status": "ok",
        "best_epoch": outcome.best_epoch,
        "epochs": config.train.epochs,
        **({"epochs_trained": trained} if trained != config.train.epochs else {}),
        "dev": scores["dev"],
        "test": scores["test"],
        "imbalance": imbalance,
        "n_parameters": sum(p.numel() for p in outcome.model.parameters()),
        "train_seconds": float(sum(outcome.epoch_seconds)),
        "wall_seconds": wall_seconds,
        **({"notice": notice} if notice else {}),
        **(extra or {}),
    }
    rd.write_json(tmp / rd.RESULT, result)
    return result
