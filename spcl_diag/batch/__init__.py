"""Seeded experiment batches: grids, seed derivation, executors, resume.

```python
from spcl_diag.batch import Grid, run_batch

small = {"train.epochs": 1, "data.synthetic.n_dialogues": 12, "model.hidden_dim": 8}
grid = Grid(curriculum=("none", "spcl", "random"), seed=(0, 1), overrides=small)
summary = run_batch(grid, "runs", stack="arms")  # each seed's three arms train as one model
summary.line()  # '6 runs: 6 done, 0 skipped, 0 failed'
```

``jobs=4`` trains on four worker processes instead; ``executor=`` takes SLURM, Ray or your own.

The names are imported on first use (PEP 562): re-running a finished batch reads configs
and run folders only, and never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spcl_diag._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "EXECUTORS": "spcl_diag.batch.executors",
    "Executor": "spcl_diag.batch.executors",
    "LocalExecutor": "spcl_diag.batch.executors",
    "ProcessExecutor": "spcl_diag.batch.executors",
    "RayExecutor": "spcl_diag.batch.executors",
    "SubmititExecutor": "spcl_diag.batch.executors",
    "make_executor": "spcl_diag.batch.executors",
    "Grid": "spcl_diag.batch.grid",
    "derive_seeds": "spcl_diag.batch.grid",
    "load_grid": "spcl_diag.batch.grid",
    "BatchInterrupted": "spcl_diag.batch.interrupt",
    "RunLock": "spcl_diag.batch.locking",
    "BatchPlan": "spcl_diag.batch.runner",
    "BatchSummary": "spcl_diag.batch.runner",
    "plan_batch": "spcl_diag.batch.runner",
    "resolve_executor": "spcl_diag.batch.executors",
    "recorded_grids": "spcl_diag.batch.runner",
    "run_batch": "spcl_diag.batch.runner",
    "RunTask": "spcl_diag.batch.task",
    "TaskOutcome": "spcl_diag.batch.task",
    "TuneResult": "spcl_diag.batch.tune",
    "tune": "spcl_diag.batch.tune",
}

if TYPE_CHECKING:  # pragma: no cover
    from spcl_diag.batch.executors import (
        EXECUTORS,
        Executor,
        LocalExecutor,
        ProcessExecutor,
        RayExecutor,
        SubmititExecutor,
        make_executor,
        resolve_executor,
    )
    from spcl_diag.batch.grid import Grid, derive_seeds, load_grid
    from spcl_diag.batch.interrupt import BatchInterrupted
    from spcl_diag.batch.locking import RunLock
    from spcl_diag.batch.runner import (
        BatchPlan,
        BatchSummary,
        plan_batch,
        recorded_grids,
        run_batch,
    )
    from spcl_diag.batch.task import RunTask, TaskOutcome
    from spcl_diag.batch.tune import TuneResult, tune


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)


__all__ = [
    "EXECUTORS",
    "BatchInterrupted",
    "BatchPlan",
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
    "plan_batch",
    "recorded_grids",
    "resolve_executor",
    "run_batch",
    "tune",
]
