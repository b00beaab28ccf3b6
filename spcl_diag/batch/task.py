"""One unit of batch work: train a run under its lock and say what happened.

:func:`execute_task` is what every executor calls, in this process or in a worker. It takes
and returns plain picklable values, so it travels unchanged to a process pool, a SLURM job
(submitit) or a Ray worker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from spcl_diag.batch.grid import dependency
from spcl_diag.batch.locking import RunLock
from spcl_diag.runs import directory as rd
from spcl_diag.runs.config import RunConfig
from spcl_diag.runs.execute import run

Status = Literal["done", "skipped", "failed"]


@dataclass(frozen=True)
class RunTask:
    """What a worker needs to train one run of a batch."""

    config: dict[str, Any]  # RunConfig.to_dict()
    out_dir: str
    device: str = "auto"
    retry_failed: bool = False

    @property
    def run_id(self) -> str:
        return RunConfig.from_dict(self.config).run_id()


@dataclass(frozen=True)
class TaskOutcome:
    """What became of one task.

    ``status`` is ``done`` (trained now), ``skipped`` (already complete, possibly finished by
    another process while this one waited for its lock) or ``failed`` (training raised, the
    paired spcl run failed, or a failure recorded earlier was not retried).
    """

    run_id: str
    status: Status
    path: str
    seconds: float
    message: str = ""


def execute_task(task: RunTask) -> TaskOutcome:
    """Train ``task`` unless it is complete; never raise for a failing run.

    A ``random`` or ``anti`` run first makes sure its paired ``spcl`` run is complete, under
    that run's lock; it is trained only when the twin succeeded, so :func:`run` never trains
    the twin itself outside a lock.
    """
    started = time.perf_counter()
    config = RunConfig.from_dict(task.config).resolved()
    out = Path(task.out_dir)
    run_id = config.run_id()
    twin = dependency(config)
    if twin is not None:
        twin_outcome = _train_locked(twin, out, task, started)
        if twin_outcome.status == "failed":
            return TaskOutcome(
                run_id, "failed", str(out / run_id), time.perf_counter() - started,
                f"its paired spcl run {twin_outcome.run_id} failed ({twin_outcome.message})",
            )
    return _train_locked(config, out, task, started)


def _train_locked(config: RunConfig, out: Path, task: RunTask, started: float) -> TaskOutcome:
    run_id = config.run_id()
    final = out / run_id
    with RunLock(out, run_id):
        if rd.is_complete(final):
            return TaskOutcome(run_id, "skipped", str(final), time.perf_counter() - started)
        if (final / rd.ERROR).exists() and not task.retry_failed:
            return TaskOutcome(
                run_id, "failed", str(final), time.perf_counter() - started,
                "failed earlier (see error.txt); not retried without retry_failed",
            )
        try:
            result = run(config, out, device=task.device, retry_failed=task.retry_failed)
        except Exception as err:  # noqa: BLE001 - run() records training errors itself; this is anything else
            return TaskOutcome(run_id, "failed", str(final), time.perf_counter() - started, repr(err))
    if result.status != "ok":
        return TaskOutcome(run_id, "failed", str(final), time.perf_counter() - started, _last_line(final / rd.ERROR))
    return TaskOutcome(run_id, "done", str(final), time.perf_counter() - started)


def _last_line(path: Path) -> str:
    lines = path.read_text().strip().splitlines() if path.is_file() else []
    return lines[-1] if lines else "no error.txt"
