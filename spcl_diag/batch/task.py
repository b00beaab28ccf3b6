"""One unit of batch work: train a run (or a stack of arms) under its locks and say what happened.

:func:`execute_task` is what every executor calls, in this process or in a worker. It takes
and returns plain picklable values, so it travels unchanged to a process pool, a SLURM job
(submitit) or a Ray worker. A :class:`RunTask` is one run; a :class:`StackTask` is the arms of
one seed trained as one stacked model (``spcl-diag batch --stack arms``,
:func:`spcl_diag.runs.stack.run_stack`), and its outcome lists one outcome per run.

What to do with a run's folder and which spcl twin must be complete first are
:mod:`spcl_diag.runs.lifecycle`'s (as for :func:`~spcl_diag.runs.execute.run`); a task adds
only the locks: it reads finished runs without one, and trains a run (a twin first) only
while holding that run's lock.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from spcl_diag.batch.locking import RunLock
from spcl_diag.config.schema import RunConfig
from spcl_diag.errors import RunSetupError
from spcl_diag.runs import directory as rd
from spcl_diag.runs.lifecycle import decide, plan_run, twin_of, twins_needed

Status = Literal["done", "skipped", "failed"]


@dataclass(frozen=True)
class RunTask:
    """What a worker needs to train one run of a batch."""

    config: dict[str, Any]  # RunConfig.to_dict()
    out_dir: str
    device: str = "auto"
    retry_failed: bool = False
    probe: bool = False  # run(probe=True): linear probes of the selected model
    log: tuple[str, ...] = ()  # run(log=...): experiment loggers

    @property
    def run_id(self) -> str:
        return RunConfig.from_dict(self.config).run_id()

    @property
    def run_ids(self) -> tuple[str, ...]:
        return (self.run_id,)


@dataclass(frozen=True)
class StackTask:
    """What a worker needs to train the arms of one seed as one stack: one config per arm."""

    configs: tuple[dict[str, Any], ...]  # RunConfig.to_dict() of each arm
    out_dir: str
    device: str = "auto"
    retry_failed: bool = False
    probe: bool = False  # run(probe=True): linear probes of the selected model
    log: tuple[str, ...] = ()  # run(log=...): experiment loggers

    @property
    def run_ids(self) -> tuple[str, ...]:
        return tuple(RunConfig.from_dict(c).run_id() for c in self.configs)

    @property
    def run_id(self) -> str:
        """The stack's name in messages: its run ids joined by ``+``."""
        return "+".join(self.run_ids)


Task = RunTask | StackTask


@dataclass(frozen=True)
class TaskOutcome:
    """What became of one task.

    ``status`` is ``done`` (trained now), ``skipped`` (already complete, possibly finished by
    another process while this one waited for its lock) or ``failed`` (training raised, the
    run could not start, the paired spcl run failed, or a failure recorded earlier was not
    retried). ``message`` is the one-line reason of a failure.
    """

    run_id: str
    status: Status
    path: str
    seconds: float
    message: str = ""
    recorded: bool = False  # a failure written to disk (trained again only with retry_failed)
    members: tuple[TaskOutcome, ...] = ()  # a stack's outcome: one per run
    held_warnings: tuple[str, ...] = ()  # a worker's one-at-a-time warnings, for the batch to say once

    def runs(self) -> tuple[TaskOutcome, ...]:
        """The outcome of every run of the task: its members for a stack, else itself."""
        return self.members or (self,)


def execute_task(task: Task) -> TaskOutcome:
    """Train ``task`` unless it is complete; never raise for a failing run.

    A ``random`` or ``anti`` run first makes sure its paired ``spcl`` run is complete, under
    that run's lock; it is trained only when the twin succeeded, so :func:`run` never trains
    the twin itself outside a lock.
    """
    if isinstance(task, StackTask):
        return execute_stack_task(task)
    started = time.perf_counter()
    plan = plan_run(RunConfig.from_dict(task.config), task.out_dir)
    config, out, run_id = plan.config, plan.out, plan.run_id
    twin = twin_of(config)
    if twin is not None:
        twin_outcome = _train_locked(twin, out, task, started)
        if twin_outcome.status == "failed":
            return TaskOutcome(
                run_id, "failed", str(out / run_id), time.perf_counter() - started,
                f"its paired spcl run {twin_outcome.run_id} failed ({twin_outcome.message})", twin_outcome.recorded,
            )
    return _train_locked(config, out, task, started)


def execute_stack_task(task: StackTask) -> TaskOutcome:
    """Train the unfinished arms of ``task`` as one stack, holding the lock of every one of them.

    Locks are taken in run-id order, so two stacks never wait for each other in a cycle. A
    paced arm whose ``spcl`` twin is not in the stack first has the twin completed, under
    the twin's lock, as :func:`execute_task` does.
    """
    from spcl_diag.runs.stack import run_stack  # imports torch.func: only when a stack runs

    started = time.perf_counter()
    out = Path(task.out_dir)
    configs = [plan_run(RunConfig.from_dict(c), out).config for c in task.configs]
    for twin in twins_needed(configs):
        _train_locked(twin, out, task, started)  # its failure is each paced arm's, said by run_stack
    members: dict[str, TaskOutcome] = {}
    try:
        with ExitStack() as locks:
            todo = []
            for config in sorted(configs, key=RunConfig.run_id):
                known = recorded_outcome(config.run_id(), out / config.run_id(), task, started)
                if known is None:
                    locks.enter_context(RunLock(out, config.run_id()))
                    known = recorded_outcome(config.run_id(), out / config.run_id(), task, started)  # while we waited
                if known is None:
                    todo.append(config)
                else:
                    members[config.run_id()] = known
            results = run_stack(todo, out, device=task.device, progress=False, retry_failed=task.retry_failed,
                                probe=task.probe, log=task.log) if todo else []
            for config, result in zip(todo, results):
                members[config.run_id()] = _result_outcome(config.run_id(), out, result, started)
    except RunSetupError as err:  # nothing recorded: the same batch trains it once the cause is fixed
        members.update({c.run_id(): TaskOutcome(c.run_id(), "failed", str(out / c.run_id()), time.perf_counter() - started,
                                                str(err)) for c in configs if c.run_id() not in members})
    except Exception as err:  # noqa: BLE001 - run_stack records training errors itself; this is anything else
        members.update({c.run_id(): TaskOutcome(c.run_id(), "failed", str(out / c.run_id()), time.perf_counter() - started,
                                                f"{type(err).__name__}: {err}") for c in configs if c.run_id() not in members})
    ordered = tuple(members[c.run_id()] for c in configs)
    status: Status = "failed" if any(o.status == "failed" for o in ordered) else "done"
    return TaskOutcome(task.run_id, status, str(out), time.perf_counter() - started, members=ordered)


def _result_outcome(run_id: str, out: Path, result: Any, started: float) -> TaskOutcome:
    """A stacked run's outcome from what :func:`~spcl_diag.runs.stack.run_stack` returned for it."""
    seconds = time.perf_counter() - started
    if isinstance(result, RunSetupError):
        return TaskOutcome(run_id, "failed", str(out / run_id), seconds, str(result))
    if result.status != "ok":
        return TaskOutcome(run_id, "failed", str(out / run_id), seconds, str(result.error), recorded=True)
    return TaskOutcome(run_id, "done", str(out / run_id), seconds)


def _train_locked(config: RunConfig, out: Path, task: Task, started: float) -> TaskOutcome:
    from spcl_diag.runs.execute import run  # imports torch: only when a run trains

    run_id = config.run_id()
    final = out / run_id
    try:
        outcome = recorded_outcome(run_id, final, task, started)  # finished runs are read without a lock
        if outcome is not None:
            return outcome
        with RunLock(out, run_id):
            outcome = recorded_outcome(run_id, final, task, started)  # finished while we waited for the lock
            if outcome is not None:
                return outcome
            result = run(config, out, device=task.device, progress=False, retry_failed=task.retry_failed,
                         probe=task.probe, log=task.log)
    except RunSetupError as err:  # nothing recorded: the same batch trains it once the cause is fixed
        return TaskOutcome(run_id, "failed", str(final), time.perf_counter() - started, str(err))
    except Exception as err:  # noqa: BLE001 - run() records training errors itself; this is anything else
        return TaskOutcome(run_id, "failed", str(final), time.perf_counter() - started, f"{type(err).__name__}: {err}")
    if result.status != "ok":
        return TaskOutcome(run_id, "failed", str(final), time.perf_counter() - started, str(result.error), recorded=True)
    return TaskOutcome(run_id, "done", str(final), time.perf_counter() - started)


def recorded_outcome(run_id: str, final: Path, task: Task, started: float) -> TaskOutcome | None:
    """The outcome of a run already on disk (:func:`~spcl_diag.runs.lifecycle.decide` says "read"), else None."""
    decision = decide(rd.run_state(final, run_id), retry_failed=task.retry_failed)
    if decision.action == "train":
        return None
    if decision.state == "complete":
        return TaskOutcome(run_id, "skipped", str(final), time.perf_counter() - started)
    reason = _recorded_reason(final)
    return TaskOutcome(run_id, "failed", str(final), time.perf_counter() - started,
                       f"failed earlier ({reason}); not retried without retry_failed", recorded=True)


def complete_on_disk(out: Path, run_id: str) -> bool:
    """Whether run ``run_id`` is finished in ``out`` (False for anything that is not a complete run)."""
    try:
        return rd.run_state(out / run_id, run_id) == "complete"
    except RunSetupError:
        return False


def _recorded_reason(run_dir: Path) -> str:
    """The one-line reason of a recorded failure: ``result.json``'s, else error.txt's last line."""
    try:
        reason = rd.read_json(run_dir / rd.RESULT).get("error")
    except (OSError, ValueError, AttributeError):
        reason = None
    if reason:
        return str(reason)
    lines = (run_dir / rd.ERROR).read_text().strip().splitlines() if (run_dir / rd.ERROR).is_file() else []
    return lines[-1] if lines else "see error.txt"
