"""``run(config, out_dir)``: train one configuration and write its run directory.

A finished run is never redone: if ``<out_dir>/<run_id>`` is complete its result is read
back. The ``random`` and ``anti`` arms replay the per-batch counts of the ``spcl`` run
with the same config and seed; when that run does not exist yet it is run first.
"""

from __future__ import annotations

import platform
import shutil
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spcl_diag import __version__
from spcl_diag.curriculum.arms import PACED_ARMS, PacingRecord
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.data.registry import resolve_dataset
from spcl_diag.evaluation.checkpoint import save_checkpoint
from spcl_diag.evaluation.masking import MaskValue, permuted_scores, scores_by_subset, subset_scores
from spcl_diag.evaluation.probe import probe_scores
from spcl_diag.metrics.classification import scope_scores
from spcl_diag.metrics.contribution import conditional_utilisation, perceptual_score, shapley_values
from spcl_diag.metrics.disparity import disparity_ratio
from spcl_diag.metrics.unimodal import unimodal_spread
from spcl_diag.runs import directory as rd
from spcl_diag.runs.config import RunConfig
from spcl_diag.train.callbacks import Callback, make_loggers
from spcl_diag.train.loop import TrainingOutcome, train_run
from spcl_diag.train.seeding import RunSeeds

# Post-training imbalance metrics from masked / permuted evaluation of the test split.
MASK_VALUE: MaskValue = "mean"  # absent modalities get the training mean feature (not OOD zeros)
PERCEPTUAL_PERMUTATIONS = 3  # permutations averaged per modality (Gat et al. stress the expectation)


@dataclass(frozen=True)
class RunResult:
    """The outcome of :func:`run`: where the run is and what ``result.json`` says."""

    run_id: str
    path: Path
    status: str  # "ok" or "failed"
    result: dict[str, Any]

    @property
    def test_wf1(self) -> float:
        return float(self.result["test"]["joint"]["wf1"])


class RunFailedError(RuntimeError):
    """A run (or the spcl run it is paired with) failed; see its ``error.txt``."""


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to ``torch.device``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def run(
    config: RunConfig,
    out_dir: str | Path,
    *,
    device: str | torch.device = "auto",
    progress: bool = False,
    retry_failed: bool = False,
    probe: bool = False,
    log: Sequence[str] = (),
    callbacks: Sequence[Callback] = (),
) -> RunResult:
    """Train ``config`` and write ``<out_dir>/<run_id>/``; return the result.

    Parameters
    ----------
    config
        The run configuration.
    out_dir
        Folder of run directories (created if needed).
    device
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    progress
        Show a progress bar over epochs.
    retry_failed
        Re-run a run whose directory records a failure (the old directory is kept as
        ``<run_id>.failed-<n>``); otherwise a recorded failure is returned as it is.
    probe
        Fit linear probes on the frozen selected model and write ``probe.json``
        (:func:`spcl_diag.evaluation.probe.probe_scores`).
    log
        Experiment loggers from :data:`spcl_diag.train.callbacks.LOGGERS`: ``"tensorboard"``
        writes event files into the run directory's ``tensorboard/``; ``"wandb"`` (offline) and
        ``"mlflow"`` write into ``out_dir/wandb`` and ``out_dir/mlflow.db``.
    callbacks
        Your own :class:`~spcl_diag.train.callbacks.Callback` objects (this run only, not the
        paired spcl run).

    Returns
    -------
    RunResult
        ``status == "failed"`` when training raised; the traceback is in ``error.txt``.

    Examples
    --------
    >>> import tempfile
    >>> config = RunConfig(curriculum="spcl").with_overrides({
    ...     "train.epochs": 2, "data.synthetic.n_dialogues": 12, "model.hidden_dim": 16,
    ...     "model.feedforward_dim": 32})
    >>> result = run(config, tempfile.mkdtemp(), device="cpu")
    >>> result.status, sorted(result.result["test"])
    ('ok', ['a', 'joint', 't', 'v'])
    """
    config = config.resolved()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run_id = config.run_id()
    final = out / run_id
    if final.exists():
        if rd.is_complete(final):
            return _read_result(run_id, final)
        if not retry_failed and (final / rd.ERROR).exists():
            return _read_result(run_id, final)
        _set_aside(final)

    pacing = None
    if config.curriculum in PACED_ARMS:
        twin = run(config.paired("spcl"), out, device=device, progress=progress, retry_failed=retry_failed,
                   probe=probe, log=log)
        if twin.status != "ok":
            raise RunFailedError(
                f"the paired spcl run {twin.run_id} failed, so the {config.curriculum} arm cannot replay "
                f"its pacing; see {twin.path / rd.ERROR}."
            )
        pacing = PacingRecord.load(str(twin.path / rd.PACING))

    torch_device = resolve_device(device)
    tmp = rd.temporary_dir(out, run_id)
    started = time.perf_counter()
    metadata = {
        "run_id": run_id,
        "config": config.to_dict(),
        "package_version": __version__,
        "git_commit": rd.git_commit(),
        "device": str(torch_device),
        "device_name": torch.cuda.get_device_name(torch_device) if torch_device.type == "cuda" else platform.processor() or platform.machine(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
    }
    try:
        hooks = [*make_loggers(tuple(log), tmp, out, name=run_id, config=config.to_dict()), *callbacks]
    except (ImportError, ValueError):
        shutil.rmtree(tmp)
        raise
    try:
        dataset = resolve_dataset(
            config.dataset, config.data, modalities=config.modalities, seed=RunSeeds.from_seed(config.seed).dev_split
        )
        metadata["dataset_fingerprint"] = dataset.fingerprint()
        metadata["dataset_summary"] = dataset.summary()
        rd.write_json(tmp / rd.CONFIG, metadata)
        with torch.random.fork_rng(devices=[torch_device] if torch_device.type == "cuda" else []):
            outcome = train_run(config, dataset, device=torch_device, pacing=pacing, progress=progress, callbacks=hooks)
        result = _write_outcome(tmp, config, outcome, dataset, probe=probe, wall_seconds=time.perf_counter() - started)
    except Exception:  # noqa: BLE001  (a failed run is recorded, never lost)
        rd.write_json(tmp / rd.CONFIG, metadata)
        (tmp / rd.ERROR).write_text(traceback.format_exc())
        result = {"run_id": run_id, "status": "failed", "wall_seconds": time.perf_counter() - started}
        rd.write_json(tmp / rd.RESULT, result)
    for hook in hooks:
        hook.on_run_end(result)
    rd.publish(tmp, final)
    return RunResult(run_id=run_id, path=final, status=result["status"], result=result)


def _write_outcome(
    tmp: Path, config: RunConfig, outcome: TrainingOutcome, dataset: ConversationDataset, *, probe: bool,
    wall_seconds: float,
) -> dict[str, Any]:
    """Write epochs, difficulty, pacing, predictions, checkpoint, probe and result files; return the result."""
    rd.write_epochs(tmp / rd.EPOCHS, outcome.rows)
    train = outcome.train_split
    traj = outcome.trajectories
    rd.save_npz(
        tmp / rd.DIFFICULTY,
        # one row per training utterance, one column per epoch: [U_train, epochs]
        l=np.ascontiguousarray(traj["l"].T.astype(np.float16)),
        c=np.ascontiguousarray(traj["c"].T.astype(np.float16)),
        d=np.ascontiguousarray(traj["d"].T.astype(np.float16)),
        v=np.ascontiguousarray(traj["v"].T),
        dialogue_id=train.dialogue_ids[train.utterance_dialogue],
        position=np.arange(train.n_utterances) - np.repeat(train.offsets[:-1], train.lengths),
        label=train.labels_host,
        speaker=train.speakers_host,
    )
    outcome.pacing.save(str(tmp / rd.PACING))
    arrays: dict[str, np.ndarray] = {}
    scores: dict[str, dict[str, dict[str, float]]] = {}
    for split, preds in outcome.predictions.items():
        arrays[f"{split}_labels"] = preds.labels
        arrays[f"{split}_dialogue_id"] = preds.dialogue_ids[preds.dialogue]
        for scope, probs in preds.probs.items():
            arrays[f"{split}_probs_{scope}"] = probs.astype(np.float32)
        scores[split] = scope_scores(preds.probs, preds.labels, dataset.label_names)
    arrays["label_names"] = np.asarray(dataset.label_names, dtype=str)
    rd.save_npz(tmp / rd.PREDICTIONS, **arrays)
    if config.train.checkpoint:
        save_checkpoint(tmp / rd.CHECKPOINT, outcome.model, config, dataset)
    if probe:
        splits = {"train": outcome.train_split, **outcome.eval_splits}
        rd.write_json(tmp / rd.PROBE, probe_scores(outcome.model, splits, batch_size=config.train.eval_batch_size))
    test = outcome.predictions["test"]
    imbalance: dict[str, Any] = {}
    if len(config.modalities) > 1:
        per_modality = {m: test.probs[m] for m in config.modalities}
        imbalance["disparity_ratio"] = disparity_ratio(per_modality, test.labels)
        imbalance["unimodal_wf1_spread"] = unimodal_spread(per_modality, test.labels, score="wf1")
        imbalance.update(_contribution_metrics(config, outcome))
    result = {
        "run_id": config.run_id(),
        "status": "ok",
        "best_epoch": outcome.best_epoch,
        "epochs": config.train.epochs,
        "dev": scores["dev"],
        "test": scores["test"],
        "imbalance": imbalance,
        "n_parameters": sum(p.numel() for p in outcome.model.parameters()),
        "train_seconds": float(sum(outcome.epoch_seconds)),
        "wall_seconds": wall_seconds,
    }
    rd.write_json(tmp / rd.RESULT, result)
    return result


def _contribution_metrics(config: RunConfig, outcome: TrainingOutcome) -> dict[str, dict[str, float]]:
    """Shapley wF1 contributions, conditional utilisation (accuracy) and perceptual scores on test.

    The best model is evaluated on the test split for the 2^M kept-modality subsets (inputs
    of the others replaced by their training mean) and with each modality permuted across
    the test utterances; see :mod:`spcl_diag.evaluation.masking`.
    """
    model, test = outcome.model, outcome.eval_splits["test"]
    batch_size = config.train.eval_batch_size
    by_subset = subset_scores(model, test, batch_size=batch_size, mask_value=MASK_VALUE, reference=outcome.train_split)
    rng = np.random.default_rng(RunSeeds.from_seed(config.seed).perceptual)
    permuted = permuted_scores(model, test, rng=rng, n_permutations=PERCEPTUAL_PERMUTATIONS, batch_size=batch_size)
    return {
        "shapley_wf1": shapley_values(scores_by_subset(by_subset, "wf1")),
        "conditional_utilisation": conditional_utilisation(scores_by_subset(by_subset, "acc")),
        "perceptual_score": perceptual_score(
            by_subset[model.modalities]["acc"], {m: [s["acc"] for s in runs] for m, runs in permuted.items()}
        ),
    }


def _read_result(run_id: str, path: Path) -> RunResult:
    result = rd.read_json(path / rd.RESULT)
    return RunResult(run_id=run_id, path=path, status=result.get("status", "failed"), result=result)


def _set_aside(path: Path) -> None:
    """Move an incomplete or failed run directory out of the way without deleting it."""
    n = 1
    while path.with_name(f"{path.name}.failed-{n}").exists():
        n += 1
    shutil.move(str(path), str(path.with_name(f"{path.name}.failed-{n}")))
