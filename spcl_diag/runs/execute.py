"""``run(config, out)``: train one configuration and write its run directory.

A finished run is never redone: if ``<out>/<run_id>`` is complete (and its
``config.json`` resolves to that run id) its result is read back. A failure before
training (data, output folder) raises :class:`~spcl_diag.errors.RunSetupError` and records
nothing; a failure during training, a NaN or infinite loss included, is recorded as a
failed run with its reason. The ``random`` and ``anti`` arms replay the per-batch counts of the ``spcl`` run
with the same config and seed; when that run does not exist yet it is run first.

What becomes of the run's folder and its twin is :mod:`spcl_diag.runs.lifecycle`'s; the files
are written by :mod:`spcl_diag.runs.writer`; this module loads the data and trains.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from spcl_diag._deprecation import moved, renamed_keyword
from spcl_diag.config.schema import RunConfig
from spcl_diag.config.seeds import RunSeeds
from spcl_diag.data.batching import resolve_device
from spcl_diag.data.cache import cache_path
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.data.loaders import is_npz
from spcl_diag.data.registry import (
    prepare_dataset,
    resolve_dataset,
    source_file,
)
from spcl_diag.errors import ConfigError, DataFormatError, RunSetupError
from spcl_diag.runs.lifecycle import RunResult, plan_run, twin_of, twin_pacing
from spcl_diag.runs.writer import finish_run, one_line, open_run_dir
from spcl_diag.train.callbacks import Callback
from spcl_diag.train.loop import TrainingOutcome, train_run


def interactive() -> bool:
    """Whether a person is watching: a terminal on stderr, the Python prompt, or a notebook."""
    return sys.stderr.isatty() or hasattr(sys, "ps1") or "ipykernel" in sys.modules


@renamed_keyword(out_dir="out")
def run(
    config: RunConfig,
    out: str | Path,
    *,
    device: str | torch.device = "auto",
    progress: bool | None = None,
    retry_failed: bool = False,
    dataset: ConversationDataset | None = None,
    probe: bool = False,
    log: Sequence[str] = (),
    callbacks: Sequence[Callback] = (),
) -> RunResult:
    """Train ``config`` and write ``<out>/<run_id>/``; return the result.

    Parameters
    ----------
    config
        The run configuration.
    out
        Folder of run directories (created if needed). ``out_dir=``, its old name, works until
        the next release, with a ``DeprecationWarning``.
    device
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    progress
        Say what the run is doing (loading, converting, building the model) and show a
        progress bar over epochs; by default when a person is watching (:func:`interactive`).
    retry_failed
        Re-run a run whose directory records a failure (the old directory is kept as
        ``<run_id>.failed-<n>``); otherwise a recorded failure is returned as it is.
    dataset
        Train on this in-memory dataset (e.g. one built by
        :meth:`~spcl_diag.data.dataset.ConversationDataset.from_arrays`) instead of
        ``config.dataset``, which becomes ``memory:<name>:<fingerprint>`` so that the data's
        content enters the run id. A dataset without dev dialogues gets them as a file does.
    probe
        Fit linear probes on the frozen selected model and write ``probe.json``
        (:func:`spcl_diag.evaluation.probe.probe_scores`).
    log
        Experiment loggers from :data:`spcl_diag.train.callbacks.LOGGERS`: ``"tensorboard"``
        writes event files into the run directory's ``tensorboard/``; ``"wandb"`` (offline) and
        ``"mlflow"`` write into ``out/wandb`` and ``out/mlflow.db``.
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
    ```python
    from spcl_diag import RunConfig, run

    small = {"train.epochs": 2, "data.synthetic.n_dialogues": 12, "model.hidden_dim": 16}
    result = run(RunConfig(curriculum="spcl").with_overrides(small), "runs")
    result.status, sorted(result.result["test"])  # ('ok', ['a', 'joint', 't', 'v'])
    result.path  # runs/<run id>: config.json, result.json, epochs.csv, difficulty.npz, ...
    ```

    A paced control arm (``random``, ``anti``) replays its spcl twin's pacing, so ``run``
    trains that twin first when the output folder lacks it.
    """
    plan = plan_run(config, out, dataset=dataset)
    config, run_id, out = plan.config, plan.run_id, plan.out
    show = interactive() if progress is None else progress
    decision = plan.decide(retry_failed=retry_failed)
    if decision.action == "read":
        return plan.read()
    plan.clear(decision)

    pacing = None
    if twin_of(config) is not None:
        pacing = twin_pacing(config, functools.partial(
            run, out=out, device=device, progress=show, retry_failed=retry_failed, dataset=dataset, probe=probe,
            log=log))

    stage = _stage_reporter(run_id, show)
    stage(_loading_text(config))
    data, torch_device = load_run_data(config, run_id, dataset=dataset, device=device)
    tmp, hooks = open_run_dir(plan, data, torch_device, log=log, callbacks=callbacks)
    started = time.perf_counter()
    stage(f"building {config.backbone} ({config.curriculum}, seed {config.seed}) on {torch_device}, "
          f"then {config.train.epochs} epochs")

    def train() -> TrainingOutcome:
        with torch.random.fork_rng(devices=[torch_device] if torch_device.type == "cuda" else []):
            return train_run(config, data, device=torch_device, pacing=pacing, progress=show, callbacks=hooks)

    return finish_run(tmp, plan, data, hooks, train, started=started, probe=probe)


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
        raise RunSetupError(f"run {run_id} could not start: {one_line(err)}") from None


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


def __getattr__(name: str) -> Any:
    """Names that moved out (issue 26) still resolve here, with a warning: to :mod:`spcl_diag.runs.lifecycle`,
    :mod:`spcl_diag.runs.writer` and :mod:`spcl_diag.evaluation.contribution`."""
    if name in ("RunFailedError", "check_writable", "set_aside"):
        return moved(__name__, name, ("spcl_diag.runs.lifecycle",))
    if name in ("run_metadata", "write_predictions"):
        return moved(__name__, name, ("spcl_diag.runs.writer",))
    if name in ("MASK_VALUE", "PERCEPTUAL_PERMUTATIONS"):
        return moved(__name__, name, ("spcl_diag.evaluation.contribution",))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
