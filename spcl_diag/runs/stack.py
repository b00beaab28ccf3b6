"""``run_stack(configs, out_dir)``: train the arms of one seed as one stacked model, into solo run directories.

Each run of the stack gets the run directory, run id and files that :func:`~spcl_diag.runs.execute.run`
would write for it (equal to float rounding; :mod:`spcl_diag.train.stacked` says what is
stacked). ``config.json`` records the stack under ``"stack"``; ``result.json`` too, and its
``train_seconds`` is the run's share of the stacked epochs (their wall time over the number
of arms). Finished runs are skipped and recorded failures returned as they are, exactly as
:func:`run` does, so a stack resumes: only the arms still to train are stacked. A ``random``
or ``anti`` run whose ``spcl`` twin is not in the stack replays the twin's recorded pacing
(the twin is trained first when it is missing).

Runs that cannot be stacked (a balancing method whose spec does not stack, a backbone that
``torch.func.vmap`` cannot run) are trained one at a time, with a warning. Before a stack
trains, its peak memory is estimated (:mod:`spcl_diag.train.memory`); when it would not fit
the device's free memory, the stack is split into stacks of as many arms as fit (the spcl arm
first, so the paced arms of later stacks replay its record), or its runs train one at a time,
with a one-line warning.

Examples
--------
>>> import tempfile
>>> from spcl_diag import RunConfig
>>> base = RunConfig().with_overrides({"train.epochs": 2, "data.synthetic.n_dialogues": 12,
...                                    "data.synthetic.max_length": 8, "model.hidden_dim": 8, "model.feedforward_dim": 16})
>>> results = run_stack([base.paired(a) for a in ("none", "spcl", "random", "anti")], tempfile.mkdtemp(), device="cpu")
>>> [(r.result["stack"]["arms"], r.status) for r in results][0]
(['none', 'spcl', 'random', 'anti'], 'ok')
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

import torch

from spcl_diag.config.schema import RunConfig
from spcl_diag.curriculum.arms import PACED_ARMS, PacingRecord
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.data.registry import memory_dataset_name
from spcl_diag.errors import RunSetupError
from spcl_diag.models.stacked import StackingError
from spcl_diag.runs import directory as rd
from spcl_diag.runs.execute import (
    RunFailedError,
    RunResult,
    check_writable,
    finish_run,
    interactive,
    load_run_data,
    open_run_dir,
    read_result,
    run,
    set_aside,
    twin_pacing,
)
from spcl_diag.train.loop import TrainingOutcome
from spcl_diag.train.memory import estimate_stack_memory, free_memory
from spcl_diag.train.stacked import (
    PairedArmFailedError,
    pairing_problems,
    train_stacked,
    unstackable_balancing,
)


def run_stack(
    configs: Sequence[RunConfig],
    out_dir: str | Path,
    *,
    device: str | torch.device = "auto",
    progress: bool | None = None,
    retry_failed: bool = False,
    dataset: ConversationDataset | None = None,
    probe: bool = False,
) -> list[RunResult | RunSetupError]:
    """Train ``configs`` (the arms of one seed) as one stack; one result per config, in order.

    Parameters are those of :func:`~spcl_diag.runs.execute.run`. A run that could not start
    (its paired spcl run failed, the data is unreadable, the folder is not writable) is
    returned as its :class:`~spcl_diag.errors.RunSetupError` instead of a result, and nothing
    is recorded for it.

    Raises
    ------
    ValueError
        ``configs`` differ in more than their curriculum arm, or repeat an arm.
    """
    if dataset is not None:
        configs = [dataclasses.replace(c, dataset=memory_dataset_name(dataset)) for c in configs]
    configs = [c.resolved() for c in configs]
    problems = pairing_problems(configs)
    if problems:
        raise ValueError("these runs cannot train as one stack: " + "; ".join(problems) + ".")
    show = interactive() if progress is None else progress
    out = Path(out_dir)
    results: dict[int, RunResult | RunSetupError] = {}
    todo: list[int] = []
    for i, config in enumerate(configs):
        run_id = config.run_id()
        state = rd.run_state(out / run_id, run_id)
        if state == "complete" or (state == "failed" and not retry_failed):
            results[i] = read_result(run_id, out / run_id)
        else:
            todo.append(i)
    balancing = unstackable_balancing([configs[i] for i in todo])
    if balancing:
        _warn_once(f"{balancing.rstrip('.')}, so these runs train one at a time.", out)
        return [results.get(i) or _solo(configs[i], out, device, show, retry_failed, dataset, probe) for i in range(len(configs))]

    pacing = _twin_pacings(configs, todo, results, {}, out, device=device, show=show, dataset=dataset, probe=probe,
                           retry_failed=retry_failed)
    if todo:
        results.update(_train_stack([configs[i] for i in todo], todo, out, device=device, show=show, pacing=pacing,
                                    dataset=dataset, probe=probe, retry_failed=retry_failed))
    return [results[i] for i in range(len(configs))]


def _train_stack(
    configs: list[RunConfig], positions: list[int], out: Path, *, device: str | torch.device, show: bool,
    pacing: dict[str, PacingRecord], dataset: ConversationDataset | None, probe: bool, retry_failed: bool,
    fits: bool = False,
) -> dict[int, RunResult | RunSetupError]:
    """Train the stack of ``configs`` and write each run's directory; position -> result.

    ``fits``: the stack is already known to fit in memory (a part of a split stack).
    """
    run_ids = [c.run_id() for c in configs]
    arms = [c.curriculum for c in configs]
    for run_id in run_ids:
        check_writable(out, run_id)
    data, torch_device = load_run_data(configs[0], run_ids[0], dataset=dataset, device=device)
    fit = len(configs) if fits or len(configs) < 2 else _arms_that_fit(configs, data, torch_device)
    if fit < len(configs):
        return _split_stack(configs, positions, out, fit, device=device, show=show, pacing=pacing, dataset=dataset,
                            probe=probe, retry_failed=retry_failed)
    stack = {"arms": arms, "runs": run_ids}
    for config, run_id in zip(configs, run_ids):
        state = rd.run_state(out / run_id, run_id)
        if state in ("failed", "stale"):
            set_aside(out / run_id, state, run_id)
    dirs = [open_run_dir(out, run_id, config, data, torch_device, metadata={"stack": stack})
            for config, run_id in zip(configs, run_ids)]
    started = time.perf_counter()
    try:
        with torch.random.fork_rng(devices=[torch_device] if torch_device.type == "cuda" else []):
            outcomes: dict[str, TrainingOutcome | BaseException] = train_stacked(
                configs, data, device=torch_device, pacing=pacing, progress=show,
                callbacks={arm: hooks for arm, (_, hooks) in zip(arms, dirs)},
            )
    except StackingError as err:
        for tmp, _ in dirs:
            shutil.rmtree(tmp, ignore_errors=True)
        _warn_once(f"{err}, so its runs train one at a time.", out)
        return {p: _solo(c, out, device, show, retry_failed, dataset, probe) for p, c in zip(positions, configs)}
    except Exception as err:  # noqa: BLE001 - the stack broke: every arm fails with its reason, recorded
        outcomes = dict.fromkeys(arms, err)

    results: dict[int, RunResult | RunSetupError] = {}
    for position, config, run_id, (tmp, hooks) in zip(positions, configs, run_ids, dirs):
        outcome = outcomes[config.curriculum]
        if isinstance(outcome, PairedArmFailedError):  # as a solo run whose twin failed: nothing recorded
            shutil.rmtree(tmp, ignore_errors=True)
            results[position] = RunFailedError(
                f"{config.curriculum} run {run_id} not recorded: {outcome}, so it has no pacing to follow; fix the "
                "cause and run again with --retry-failed (retry_failed=True)."
            )
            continue
        results[position] = finish_run(tmp, out / run_id, config, data, hooks, _returning(outcome), started=started,
                                       probe=probe, extra={"stack": stack})
    return results


def _arms_that_fit(configs: list[RunConfig], data: ConversationDataset, device: torch.device) -> int:
    """How many arms of ``configs`` fit in one stack on ``device``; a warning when not all do.

    A backbone that cannot run stacked at all is left to :func:`train_stacked`, which says so.
    """
    try:
        estimate = estimate_stack_memory(configs[0], data, device)
    except torch.OutOfMemoryError:  # two arms' step alone does not fit
        warnings.warn(f"a stack of {len(configs)} arms ({configs[0].backbone}, seed {configs[0].seed}) ran out of "
                      f"memory on {device} while its memory was measured: training its runs one at a time.",
                      UserWarning, stacklevel=4)
        return 1
    except (RuntimeError, ValueError, NotImplementedError):
        return len(configs)
    free = free_memory(device)
    fit = estimate.arms_that_fit(free)
    if fit < len(configs):
        plan = (f"training them as stacks of at most {fit} arms" if fit >= 2 else "training its runs one at a time")
        warnings.warn(
            f"a stack of {len(configs)} arms ({configs[0].backbone}, seed {configs[0].seed}) needs about "
            f"{estimate.peak(len(configs)) / 2**30:.2f} GiB and {device} has {free / 2**30:.2f} GiB free: {plan}.",
            UserWarning, stacklevel=4,
        )
    return fit


def _twin_pacings(
    configs: Sequence[RunConfig], todo: list[int], results: dict[int, RunResult | RunSetupError],
    known: dict[str, PacingRecord], out: Path, *, device: str | torch.device, show: bool,
    dataset: ConversationDataset | None, probe: bool, retry_failed: bool,
) -> dict[str, PacingRecord]:
    """``known`` plus the spcl twin's record for each paced arm of ``todo`` whose stack has no spcl arm.

    A paced arm whose twin cannot be had leaves ``todo`` with its error in ``results``.
    """
    pacing = dict(known)
    if any(configs[i].curriculum == "spcl" for i in todo):
        return pacing
    for i in list(todo):
        config = configs[i]
        if config.curriculum in PACED_ARMS and config.curriculum not in pacing:
            try:
                pacing[config.curriculum] = twin_pacing(config, out, device=device, progress=show,
                                                        retry_failed=retry_failed, dataset=dataset, probe=probe, log=())
            except RunSetupError as err:
                results[i] = err
                todo.remove(i)
    return pacing


def _split_stack(
    configs: list[RunConfig], positions: list[int], out: Path, fit: int, *, device: str | torch.device, show: bool,
    pacing: dict[str, PacingRecord], dataset: ConversationDataset | None, probe: bool, retry_failed: bool,
) -> dict[int, RunResult | RunSetupError]:
    """Train ``configs`` as stacks of at most ``fit`` arms (spcl's first), or one at a time when ``fit < 2``."""
    order = sorted(range(len(configs)), key=lambda i: configs[i].curriculum != "spcl")
    if fit < 2:
        return {positions[i]: _solo(configs[i], out, device, show, retry_failed, dataset, probe) for i in order}
    results: dict[int, RunResult | RunSetupError] = {}
    for start in range(0, len(order), fit):
        chunk = order[start:start + fit]
        failed: dict[int, RunResult | RunSetupError] = {}
        chunk_pacing = _twin_pacings(configs, chunk, failed, pacing, out, device=device, show=show, dataset=dataset,
                                     probe=probe, retry_failed=retry_failed)  # spcl's stack is on disk by now
        results.update({positions[i]: err for i, err in failed.items()})
        if chunk:
            results.update(_train_stack([configs[i] for i in chunk], [positions[i] for i in chunk], out, device=device,
                                        show=show, pacing=chunk_pacing, dataset=dataset, probe=probe,
                                        retry_failed=retry_failed, fits=True))
    return results


_WARNED: set[tuple[str, str]] = set()  # (output folder, message) of the one-at-a-time warnings given


def _warn_once(message: str, out: Path) -> None:
    """Warn ``message`` once per output folder (every seed's stack of a batch would repeat it), at the first
    caller outside the package, so that no source line of the package shows."""
    key = (str(out.resolve()), message)
    if key in _WARNED:
        return
    _WARNED.add(key)
    package, level = Path(__file__).resolve().parents[1], 2
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and Path(frame.f_code.co_filename).resolve().is_relative_to(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def _returning(outcome: TrainingOutcome | BaseException) -> Callable[[], TrainingOutcome]:
    """``finish_run``'s ``train``: return the arm's outcome, or raise what failed it."""
    def train() -> TrainingOutcome:
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return train


def _solo(
    config: RunConfig, out: Path, device: str | torch.device, show: bool, retry_failed: bool,
    dataset: ConversationDataset | None, probe: bool,
) -> RunResult | RunSetupError:
    try:
        return run(config, out, device=device, progress=show, retry_failed=retry_failed, dataset=dataset, probe=probe)
    except RunSetupError as err:
        return err
