"""``run(config, out_dir)``: train one configuration and write its run directory.

A finished run is never redone: if ``<out_dir>/<run_id>`` is complete (and its
``config.json`` resolves to that run id) its result is read back. A failure before
training (data, output folder) raises :class:`~spcl_diag.errors.RunSetupError` and records
nothing; a failure during training, a NaN or infinite loss included, is recorded as a
failed run with its reason. The ``random`` and ``anti`` arms replay the per-batch counts of the ``spcl`` run
with the same config and seed; when that run does not exist yet it is run first.
"""

from __future__ import annotations

import functools
import platform
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from spcl_diag._deprecation import moved
from spcl_diag._version import __version__
from spcl_diag.config.identity import identity_payload
from spcl_diag.config.schema import RunConfig
from spcl_diag.config.seeds import RunSeeds
from spcl_diag.data.cache import cache_path
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.data.loaders import is_npz
from spcl_diag.data.registry import (
    prepare_dataset,
    resolve_dataset,
    source_file,
)
from spcl_diag.errors import ConfigError, DataFormatError, RunSetupError
from spcl_diag.evaluation.checkpoint import save_checkpoint
from spcl_diag.evaluation.masking import (
    MaskValue,
    permuted_scores,
    predictions_scores,
    scores_by_subset,
    subset_predictions,
)
from spcl_diag.evaluation.probe import probe_scores
from spcl_diag.metrics.classification import scope_scores
from spcl_diag.metrics.contribution import conditional_utilisation, perceptual_score, shapley_values
from spcl_diag.metrics.disparity import disparity_ratio
from spcl_diag.metrics.unimodal import unimodal_spread
from spcl_diag.runs import directory as rd
from spcl_diag.runs.lifecycle import RunResult, plan_run, twin_of, twin_pacing
from spcl_diag.train.callbacks import Callback, make_loggers
from spcl_diag.train.loop import SplitPredictions, TrainingOutcome, train_run

# Post-training imbalance metrics from masked / permuted evaluation of the test split.
MASK_VALUE: MaskValue = "mean"  # absent modalities get the training mean feature (not OOD zeros)
PERCEPTUAL_PERMUTATIONS = 3  # permutations averaged per modality (Gat et al. stress the expectation)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to ``torch.device``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def interactive() -> bool:
    """Whether a person is watching: a terminal on stderr, the Python prompt, or a notebook."""
    return sys.stderr.isatty() or hasattr(sys, "ps1") or "ipykernel" in sys.modules


def run(
    config: RunConfig,
    out_dir: str | Path,
    *,
    device: str | torch.device = "auto",
    progress: bool | None = None,
    retry_failed: bool = False,
    dataset: ConversationDataset | None = None,
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
        Say what the run is doing (loading, converting, building the model) and show a
        progress bar over epochs; by default when a person is watching (:func:`interactive`).
    retry_failed
        Re-run a run whose directory records a failure (the old directory is kept as
        ``<run_id>.failed-<n>``); otherwise a recorded failure is returned as it is.
    dataset
        Train on this in-memory dataset (e.g. :meth:`ConversationDataset.from_arrays
        <spcl_diag.data.dataset.ConversationDataset.from_arrays>`) instead of
        ``config.dataset``, which becomes ``memory:<name>:<fingerprint>`` so that the data's
        content enters the run id. A dataset without dev dialogues gets them as a file does.
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
        ``status == "failed"`` when training raised, including a training loss that became
        NaN or infinite; ``result["error"]`` has the reason, ``error.txt`` the traceback.

    Raises
    ------
    RunSetupError
        The run could not start (no data, unreadable data, an output folder that cannot be
        written, a dangling link where the run folder should be, a failed paired spcl run).
        Nothing is recorded, so the same call trains once the cause is fixed.

    Notes
    -----
    A folder named by the run id is trusted only when its ``config.json`` resolves to that
    id; one holding another config's run (a copied or linked folder) is set aside as
    ``<run_id>.stale-<n>`` with a warning, and the run is trained again.

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
    plan = plan_run(config, out_dir, dataset=dataset)
    config, run_id, out = plan.config, plan.run_id, plan.out
    show = interactive() if progress is None else progress
    decision = plan.decide(retry_failed=retry_failed)
    if decision.action == "read":
        return plan.read()
    plan.clear(decision)

    pacing = None
    if twin_of(config) is not None:
        pacing = twin_pacing(config, functools.partial(
            run, out_dir=out, device=device, progress=show, retry_failed=retry_failed, dataset=dataset, probe=probe,
            log=log))

    stage = _stage_reporter(run_id, show)
    stage(_loading_text(config))
    data, torch_device = load_run_data(config, run_id, dataset=dataset, device=device)
    tmp, hooks = open_run_dir(out, run_id, config, data, torch_device, log=log, callbacks=callbacks)
    started = time.perf_counter()
    stage(f"building {config.backbone} ({config.curriculum}, seed {config.seed}) on {torch_device}, "
          f"then {config.train.epochs} epochs")

    def train() -> TrainingOutcome:
        with torch.random.fork_rng(devices=[torch_device] if torch_device.type == "cuda" else []):
            return train_run(config, data, device=torch_device, pacing=pacing, progress=show, callbacks=hooks)

    return finish_run(tmp, plan.final, config, data, hooks, train, started=started, probe=probe)


def load_run_data(
    config: RunConfig, run_id: str, *, dataset: ConversationDataset | None, device: str | torch.device
) -> tuple[ConversationDataset, torch.device]:
    """The run's data (restricted to its modalities, its dev split drawn) and its device; RunSetupError if not."""
    dev_seed = RunSeeds.from_seed(config.seed).dev_split
    try:
        data = (
            resolve_dataset(config.dataset, config.data, modalities=config.modalities, seed=dev_seed)
            if dataset is None
            else prepare_dataset(dataset, config.data, modalities=config.modalities, seed=dev_seed)
        )
        return data, resolve_device(device)
    except (DataFormatError, ConfigError, OSError, RuntimeError) as err:
        raise RunSetupError(f"run {run_id} could not start: {_one_line(err)}") from None


def open_run_dir(
    out: Path, run_id: str, config: RunConfig, data: ConversationDataset, device: torch.device, *,
    log: Sequence[str] = (), callbacks: Sequence[Callback] = (), metadata: Mapping[str, Any] | None = None,
) -> tuple[Path, list[Callback]]:
    """Create the run's temporary directory with its ``config.json``; return it and the run's loggers and callbacks.

    ``metadata`` adds entries to ``config.json`` (a stacked run names its stack).
    """
    try:
        tmp = rd.temporary_dir(out, run_id)
    except OSError as err:
        raise RunSetupError(f"run {run_id} could not start: cannot write to {out} ({err.strerror or err}); "
                            "choose another folder (--out).") from None
    try:
        hooks = [*make_loggers(tuple(log), tmp, out, name=run_id, config=config.to_dict()), *callbacks]
    except (ImportError, ValueError) as err:  # a logger's optional package is missing
        shutil.rmtree(tmp)
        raise RunSetupError(f"run {run_id} could not start: {_one_line(err)}") from None
    payload = identity_payload(config)
    info = run_metadata(run_id, config.to_dict(), device)
    info.update(identity=payload, dataset_fingerprint=data.fingerprint(), dataset_summary=data.summary())
    if config.plugins:
        info["plugins"] = payload["plugins"]  # name -> source hash
    info.update(metadata or {})
    rd.write_json(tmp / rd.CONFIG, info)
    return tmp, hooks


def finish_run(
    tmp: Path, final: Path, config: RunConfig, data: ConversationDataset, hooks: Sequence[Callback],
    train: Callable[[], TrainingOutcome], *, started: float, probe: bool, extra: Mapping[str, Any] | None = None,
) -> RunResult:
    """Call ``train``, write the outcome (or the failure it raised) into ``tmp`` and publish it as ``final``.

    ``extra`` adds entries to ``result.json``, a failed one's too.
    """
    run_id = final.name
    try:
        outcome = train()
        result = _write_outcome(tmp, config, outcome, data, probe=probe, wall_seconds=time.perf_counter() - started,
                                extra=extra)
    except KeyboardInterrupt:  # Ctrl-C or a batch's signal: an unfinished run is never published
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except Exception as err:  # noqa: BLE001  (a failed run is recorded, never lost)
        (tmp / rd.ERROR).write_text(traceback.format_exc())
        result = {
            "run_id": run_id,
            "status": "failed",
            "error": _one_line(err),
            "failed_epoch": getattr(err, "epoch", None),
            "wall_seconds": time.perf_counter() - started,
            **(extra or {}),
        }
        rd.write_json(tmp / rd.RESULT, result)
    for hook in hooks:
        hook.on_run_end(result)
    rd.publish(tmp, final)
    return RunResult(run_id=run_id, path=final, status=result["status"], result=result)


def _stage_reporter(run_id: str, show: bool) -> Callable[[str], None]:
    """Prints ``run <id>: <what it is doing>`` on stderr when ``show``."""
    def stage(text: str) -> None:
        if show:
            tqdm.write(f"run {run_id}: {text}", file=sys.stderr)

    return stage


def _loading_text(config: RunConfig) -> str:
    source = source_file(config.dataset, config.data)
    if source is not None and not is_npz(source) and not cache_path(source, "auto").is_file():
        return f"converting {source.name} to a .npz cache (first load; later loads read the cache)"
    return f"loading {config.dataset} ({config.modalities})"


def _one_line(err: BaseException) -> str:
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


def _write_outcome(
    tmp: Path, config: RunConfig, outcome: TrainingOutcome, dataset: ConversationDataset, *, probe: bool,
    wall_seconds: float, extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write epochs, difficulty, pacing, predictions, checkpoint, probe and result files; return the result."""
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
        contribution, masked = _contribution_metrics(config, outcome)
        # joint test probabilities with only subset S intact, for per-class Shapley values
        masked_arrays = {f"test_masked_probs_{s or 'none'}": p.probs["joint"].astype(np.float32) for s, p in masked.items()}
    scores, imbalance = write_predictions(
        tmp,
        {split: (p.labels, p.probs, p.dialogue_ids[p.dialogue]) for split, p in outcome.predictions.items()},
        config.modalities,
        label_names=dataset.label_names,
        extra=masked_arrays,
    )
    imbalance.update(contribution)
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
        **(extra or {}),
    }
    rd.write_json(tmp / rd.RESULT, result)
    return result


def _contribution_metrics(
    config: RunConfig, outcome: TrainingOutcome
) -> tuple[dict[str, dict[str, float]], dict[str, SplitPredictions]]:
    """Shapley wF1 contributions, conditional utilisation (accuracy) and perceptual scores on test.

    The best model is evaluated on the test split for the 2^M kept-modality subsets (inputs
    of the others replaced by their training mean) and with each modality permuted across
    the test utterances; see :mod:`spcl_diag.evaluation.masking`. Also returns the masked
    predictions by kept subset. The subset with every modality intact is the training loop's
    test evaluation of the selected epoch (same weights, same batches, eval mode), so it is
    reused rather than computed again: 2^M - 1 + 3M passes over the test split.
    """
    model, test = outcome.model, outcome.eval_splits["test"]
    batch_size = config.train.eval_batch_size
    masked = subset_predictions(model, test, batch_size=batch_size, mask_value=MASK_VALUE, reference=outcome.train_split,
                                intact=outcome.predictions["test"])
    by_subset = predictions_scores(masked)
    rng = np.random.default_rng(RunSeeds.from_seed(config.seed).perceptual)
    permuted = permuted_scores(model, test, rng=rng, n_permutations=PERCEPTUAL_PERMUTATIONS, batch_size=batch_size)
    return {
        "shapley_wf1": shapley_values(scores_by_subset(by_subset, "wf1")),
        "conditional_utilisation": conditional_utilisation(scores_by_subset(by_subset, "acc")),
        "perceptual_score": perceptual_score(
            by_subset[model.modalities]["acc"], {m: [s["acc"] for s in runs] for m, runs in permuted.items()}
        ),
    }, masked


def __getattr__(name: str) -> Any:
    """Names that moved to :mod:`spcl_diag.runs.lifecycle` (issue 26) still resolve here, with a warning."""
    if name in ("RunFailedError", "check_writable", "set_aside"):
        return moved(__name__, name, ("spcl_diag.runs.lifecycle",))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
