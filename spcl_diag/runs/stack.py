"""``run_stack(configs, out)``: train the arms of one seed as one stacked model, into solo run directories.

Each run of the stack gets the run directory, run id and files that :func:`~spcl_diag.runs.execute.run`
would write for it (equal to float rounding; :mod:`spcl_diag.train.stacked` says what is
stacked). ``config.json`` records the stack under ``"stack"``; ``result.json`` too, and its
``train_seconds`` is the run's share of the stacked epochs (their wall time over the number
of arms). What becomes of each run's folder (read back, trained, set aside) and the spcl twin a
``random`` or ``anti`` run follows are :mod:`spcl_diag.runs.lifecycle`'s, exactly as for
:func:`run`, so a stack resumes: only the arms still to train are stacked, and a paced arm
whose ``spcl`` twin is not in the stack replays the twin's recorded pacing (the twin is
trained first when it is missing). ``log`` and ``callbacks`` are :func:`run`'s: each run of
the stack gets its own loggers (``tensorboard/`` in its run directory).

Runs that cannot be stacked (a balancing method whose spec does not stack, a backbone that
``torch.func.vmap`` cannot run) are trained one at a time, with a warning. Before a stack
trains, its peak memory is estimated (:mod:`spcl_diag.train.memory`); when it would not fit
the device's free memory, the stack is split into stacks of as many arms as fit (the spcl arm
first, so the paced arms of later stacks replay its record), or its runs train one at a time,
with a one-line warning.

Examples
--------
```python
from spcl_diag import RunConfig, run_stack

small = {"train.epochs": 2, "data.synthetic.n_dialogues": 12, "model.hidden_dim": 8}
base = RunConfig().with_overrides(small)
results = run_stack([base.paired(arm) for arm in ("none", "spcl", "random", "anti")], "runs")
[r.status for r in results], results[0].result["stack"]["arms"]
# (['ok', 'ok', 'ok', 'ok'], ['none', 'spcl', 'random', 'anti'])
```
"""

from __future__ import annotations

import shutil
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from spcl_diag._deprecation import renamed_keyword
from spcl_diag.config.schema import RunConfig
from spcl_diag.curriculum.arms import PacingRecord
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.errors import OneAtATimeWarning, RunSetupError, warn_from_caller
from spcl_diag.models.stacked import StackingError
from spcl_diag.runs.execute import interactive, load_run_data, run
from spcl_diag.runs.lifecycle import (
    RunFailedError,
    RunPlan,
    RunResult,
    check_writable,
    plan_run,
    twin_of,
    twin_pacing,
    twins_needed,
)
from spcl_diag.runs.writer import finish_run, open_run_dir
from spcl_diag.train.callbacks import Callback
from spcl_diag.train.loop import TrainingOutcome
from spcl_diag.train.memory import estimate_stack_memory, free_memory
from spcl_diag.train.stacked import (
    PairedArmFailedError,
    pairing_problems,
    train_stacked,
    unstackable_balancing,
)

Callbacks = Sequence[Callback] | Mapping[str, Sequence[Callback]]  # every run's, or arm -> that run's
Outcome = RunResult | RunSetupError


@renamed_keyword(out_dir="out")
def run_stack(
    configs: Sequence[RunConfig],
    out: str | Path,
    *,
    device: str | torch.device = "auto",
    progress: bool | None = None,
    retry_failed: bool = False,
    dataset: ConversationDataset | None = None,
    probe: bool = False,
    log: Sequence[str] = (),
    callbacks: Callbacks = (),
) -> list[Outcome]:
    """Train ``configs`` (the arms of one seed) as one stack; one result per config, in order.

    Parameters are those of :func:`~spcl_diag.runs.execute.run`; ``callbacks`` is called for
    every run of the stack (a mapping arm -> callbacks gives each arm its own; the events of
    :meth:`~spcl_diag.train.callbacks.Callback.on_epoch_end` do not name the run). A run that
    could not start (its paired spcl run failed, the data is unreadable, the folder is not
    writable) is returned as its :class:`~spcl_diag.errors.RunSetupError` instead of a result,
    and nothing is recorded for it.

    Raises
    ------
    ValueError
        ``configs`` differ in more than their curriculum arm, or repeat an arm.
    """
    plans = [plan_run(c, out, dataset=dataset) for c in configs]
    problems = pairing_problems([p.config for p in plans])
    if problems:
        raise ValueError("these runs cannot train as one stack: " + "; ".join(problems) + ".")
    opts = _Options(Path(out), device, interactive() if progress is None else progress, retry_failed, dataset,
                    probe, tuple(log), callbacks)
    results: dict[int, Outcome] = {}
    todo: list[int] = []
    for i, plan in enumerate(plans):
        if plan.decide(retry_failed=retry_failed).action == "read":
            results[i] = plan.read()
        else:
            todo.append(i)
    balancing = unstackable_balancing([plans[i].config for i in todo])
    if balancing:
        warn_once(f"{balancing.rstrip('.')}, so these runs train one at a time.", opts.out)
        return [results.get(i) or opts.solo(plans[i].config) for i in range(len(plans))]

    pacing = _twin_pacings(plans, todo, results, {}, opts)
    if todo:
        results.update(_train_stack([plans[i] for i in todo], todo, opts, pacing=pacing))
    return [results[i] for i in range(len(plans))]


@dataclass(frozen=True)
class _Options:
    """:func:`run_stack`'s keywords, as every part of a stack (and each run trained alone) gets them."""

    out: Path
    device: str | torch.device
    show: bool
    retry_failed: bool
    dataset: ConversationDataset | None
    probe: bool
    log: tuple[str, ...]
    callbacks: Callbacks

    def callbacks_of(self, arm: str) -> list[Callback]:
        if isinstance(self.callbacks, Mapping):
            return list(self.callbacks.get(arm, ()))
        return list(self.callbacks)

    def run_twin(self, twin: RunConfig) -> RunResult:
        """The spcl twin, read back or trained as :func:`run` would (its loggers, not the callbacks)."""
        return run(twin, self.out, device=self.device, progress=self.show, retry_failed=self.retry_failed,
                   dataset=self.dataset, probe=self.probe, log=self.log)

    def solo(self, config: RunConfig) -> Outcome:
        """``config`` trained alone by :func:`run`; its RunSetupError returned, not raised."""
        try:
            return run(config, self.out, device=self.device, progress=self.show, retry_failed=self.retry_failed,
                       dataset=self.dataset, probe=self.probe, log=self.log, callbacks=self.callbacks_of(config.curriculum))
        except RunSetupError as err:
            return err


def _train_stack(
    plans: list[RunPlan], positions: list[int], opts: _Options, *, pacing: dict[str, PacingRecord], fits: bool = False,
) -> dict[int, Outcome]:
    """Train the stack of ``plans`` and write each run's directory; position -> result.

    ``fits``: the stack is already known to fit in memory (a part of a split stack).
    """
    configs = [p.config for p in plans]
    run_ids = [p.run_id for p in plans]
    arms = [c.curriculum for c in configs]
    for run_id in run_ids:
        check_writable(opts.out, run_id)
    data, torch_device = load_run_data(configs[0], run_ids[0], dataset=opts.dataset, device=opts.device)
    fit = len(configs) if fits or len(configs) < 2 else _arms_that_fit(configs, data, torch_device)
    if fit < len(configs):
        return _split_stack(plans, positions, fit, opts, pacing=pacing)
    stack = {"arms": arms, "runs": run_ids}
    for plan in plans:
        plan.clear(plan.decide(retry_failed=opts.retry_failed))
    dirs = [open_run_dir(plan, data, torch_device, log=opts.log,
                         callbacks=opts.callbacks_of(plan.config.curriculum), metadata={"stack": stack})
            for plan in plans]
    started = time.perf_counter()
    try:
        with torch.random.fork_rng(devices=[torch_device] if torch_device.type == "cuda" else []):
            outcomes: dict[str, TrainingOutcome | BaseException] = train_stacked(
                configs, data, device=torch_device, pacing=pacing, progress=opts.show,
                callbacks={arm: hooks for arm, (_, hooks) in zip(arms, dirs)},
            )
    except StackingError as err:
        for tmp, _ in dirs:
            shutil.rmtree(tmp, ignore_errors=True)
        warn_once(f"{err}, so its runs train one at a time.", opts.out)
        return {p: opts.solo(c) for p, c in zip(positions, configs)}
    except Exception as err:  # noqa: BLE001 - the stack broke: every arm fails with its reason, recorded
        outcomes = dict.fromkeys(arms, err)

    results: dict[int, Outcome] = {}
    for position, plan, (tmp, hooks) in zip(positions, plans, dirs):
        config, run_id = plan.config, plan.run_id
        outcome = outcomes[config.curriculum]
        if isinstance(outcome, PairedArmFailedError):  # as a solo run whose twin failed: nothing recorded
            shutil.rmtree(tmp, ignore_errors=True)
            results[position] = RunFailedError(
                f"{config.curriculum} run {run_id} not recorded: {outcome}, so it has no pacing to follow; fix the "
                "cause and run again with --retry-failed (retry_failed=True)."
            )
            continue
        results[position] = finish_run(tmp, plan, data, hooks, _returning(outcome), started=started,
                                       probe=opts.probe, extra={"stack": stack})
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
    plans: Sequence[RunPlan], todo: list[int], results: dict[int, Outcome], known: dict[str, PacingRecord],
    opts: _Options,
) -> dict[str, PacingRecord]:
    """``known`` plus the spcl twin's record for each paced arm of ``todo`` when the twin is not among them.

    A paced arm whose twin cannot be had leaves ``todo`` with its error in ``results``.
    """
    pacing = dict(known)
    if not twins_needed([plans[i].config for i in todo]):
        return pacing
    for i in list(todo):
        config = plans[i].config
        if twin_of(config) is not None and config.curriculum not in pacing:
            try:
                pacing[config.curriculum] = twin_pacing(config, opts.run_twin)
            except RunSetupError as err:
                results[i] = err
                todo.remove(i)
    return pacing


def _split_stack(
    plans: list[RunPlan], positions: list[int], fit: int, opts: _Options, *, pacing: dict[str, PacingRecord],
) -> dict[int, Outcome]:
    """Train ``plans`` as stacks of at most ``fit`` arms (spcl's first), or one at a time when ``fit < 2``."""
    order = sorted(range(len(plans)), key=lambda i: plans[i].config.curriculum != "spcl")
    if fit < 2:
        return {positions[i]: opts.solo(plans[i].config) for i in order}
    results: dict[int, Outcome] = {}
    for start in range(0, len(order), fit):
        chunk = order[start:start + fit]
        failed: dict[int, Outcome] = {}
        chunk_pacing = _twin_pacings(plans, chunk, failed, pacing, opts)  # spcl's stack is on disk by now
        results.update({positions[i]: err for i, err in failed.items()})
        if chunk:
            results.update(_train_stack([plans[i] for i in chunk], [positions[i] for i in chunk], opts,
                                        pacing=chunk_pacing, fits=True))
    return results


_WARNED: set[tuple[str, str]] = set()  # (output folder, message) of the one-at-a-time warnings given


def warn_once(message: str, out: Path) -> None:
    """Warn ``message`` once per output folder in this process (every seed's stack of a batch would repeat
    it; the process pool says its workers' held warnings through this too)."""
    key = (str(out.resolve()), message)
    if key not in _WARNED:
        _WARNED.add(key)
        warn_from_caller(message, OneAtATimeWarning)


def _returning(outcome: TrainingOutcome | BaseException) -> Callable[[], TrainingOutcome]:
    """``finish_run``'s ``train``: return the arm's outcome, or raise what failed it."""
    def train() -> TrainingOutcome:
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return train
