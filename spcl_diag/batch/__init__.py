"""Seeded experiment batches: grids, seed derivation, executors, resume.

>>> from spcl_diag.batch import Grid, run_batch, make_executor  # doctest: +SKIP
>>> run_batch(Grid(curriculum=("none", "spcl", "random"), seed=(0, 1, 2)), "runs",
...           executor=make_executor("process", jobs=4))  # doctest: +SKIP
"""

from __future__ import annotations

from spcl_diag.batch.executors import (
    EXECUTORS,
    Executor,
    LocalExecutor,
    ProcessExecutor,
    RayExecutor,
    SubmititExecutor,
    make_executor,
)
from spcl_diag.batch.grid import Grid, derive_seeds, load_grid
from spcl_diag.batch.locking import RunLock
from spcl_diag.batch.runner import BatchSummary, recorded_grids, run_batch
from spcl_diag.batch.task import RunTask, TaskOutcome
from spcl_diag.batch.tune import TuneResult, tune

__all__ = [
    "EXECUTORS",
    "BatchSummary",
    "Executor",
    "Grid",
    "LocalExecutor",
    "ProcessExecutor",
    "RayExecutor",
    "RunLock",
    "RunTask",
    "SubmititExecutor",
    "TaskOutcome",
    "TuneResult",
    "derive_seeds",
    "load_grid",
    "make_executor",
    "recorded_grids",
    "run_batch",
    "tune",
]
