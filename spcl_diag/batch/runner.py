"""``run_batch(grid, out)``: run every run of a grid, resuming whatever is already done.

Scheduling and safety
---------------------
The runs go out in two waves: first every run that depends on no other (``none``, ``spcl``,
the ablations), then the ``random`` and ``anti`` runs, which replay the pacing of their
``spcl`` twin. Waves keep the workers busy instead of waiting for a twin that a neighbour is
still training; they are not what makes the batch safe.

Safety comes from a lock file per run id (:mod:`spcl_diag.batch.locking`): a worker trains a
run only while it holds that run's lock, and a ``random``/``anti`` worker first completes the
twin under the twin's lock. So no two processes ever train the same run, even across two
batches started on the same folder or cluster jobs on different nodes, and a dependant whose
twin is not in the grid still works.

Stacks
------
With ``stack="arms"`` (``spcl-diag batch --stack arms``) the runs that differ only in their
curriculum arm (the arms of one seed and cell) go out as one task and train as one stacked
model (:func:`spcl_diag.runs.stack.run_stack`), into the same run directories; the task
holds the lock of every run it trains. Runs of a balancing method that stacks (``none``,
``ogm-ge``, ``ada2i``, ``uni-aux``, ``g-blending``, ``pmr``) stack the same way; those of a method
that does not (``agm``, ``mmpareto``: its spec's ``solo_reason``) train one at a time.

Resume
------
A run counts as finished only when its directory is complete (the run is written under a
temporary name and renamed at the end). Re-running a batch skips finished runs, reports
recorded failures (``retry_failed=True`` runs them again, keeping the failed directory as
``<id>.failed-<n>``), and trains the rest; the temporary directories and locks of a killed
process are cleaned up when the run is next locked. Nothing is overwritten.

Interrupts
----------
SIGINT (Ctrl-C) or SIGTERM stops the batch (:mod:`spcl_diag.batch.interrupt`): nothing
more is submitted, the workers stop, every lock is released, and :func:`run_batch` raises
:class:`~spcl_diag.batch.interrupt.BatchInterrupted` whose message is
``interrupted: 9 of 16 runs done; run the same command to continue`` (the runs of the grid
complete on disk). Running the batch again trains only the rest.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from spcl_diag.batch import interrupt
from spcl_diag.batch.executors import Executor, resolve_executor
from spcl_diag.batch.grid import Grid, load_grid
from spcl_diag.batch.locking import clear_dead_owners
from spcl_diag.batch.task import (
    RunTask,
    StackTask,
    Task,
    TaskOutcome,
    complete_on_disk,
    recorded_outcome,
)
from spcl_diag.config.schema import RunConfig
from spcl_diag.curriculum.names import ARMS
from spcl_diag.errors import ConfigError, RunSetupError
from spcl_diag.runs import directory as rd
from spcl_diag.runs.lifecycle import twin_of

GRIDS_DIR = "grids"
STACK_MODES: tuple[str, ...] = ("arms",)  # what a batch may stack: the curriculum arms of a seed


@dataclass(frozen=True)
class BatchSummary:
    """What a batch did: one outcome per run of the grid."""

    outcomes: tuple[TaskOutcome, ...]
    out_dir: Path
    grid_path: Path | None = None  # None when the folder is a read-only archive of finished runs
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> tuple[TaskOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "failed")

    def line(self) -> str:
        """``12 runs: 9 done, 2 skipped, 1 failed``, with how to retry recorded failures."""
        c = self.counts
        text = f"{len(self.outcomes)} runs: {c.get('done', 0)} done, {c.get('skipped', 0)} skipped, {c.get('failed', 0)} failed"
        if any(o.recorded for o in self.failed):
            text += " (failures recorded on disk are trained again with --retry-failed / retry_failed=True)"
        return text


def run_batch(
    grid: Grid | dict[str, Any] | str | Path,
    out: str | Path,
    *,
    executor: Executor | str | None = None,
    jobs: int = 1,
    device: str = "auto",
    retry_failed: bool = False,
    progress: bool = True,
    stack: str | None = None,
    probe: bool = False,
    log: Sequence[str] = (),
) -> BatchSummary:
    """Run (or resume) every run of ``grid`` into ``out``.

    Parameters
    ----------
    grid
        A :class:`Grid`, a mapping of its fields, or the path of a TOML grid file.
    out
        Folder of run directories; the grid is recorded under ``<out>/grids/``.
    executor
        Where runs execute: an executor (:func:`~spcl_diag.batch.executors.make_executor`),
        one of their names (``"local"``, ``"process"``, ``"slurm"``, ``"ray"``), or ``None``:
        a process pool when ``jobs > 1``, else this process
        (:func:`~spcl_diag.batch.executors.resolve_executor`).
    jobs
        Runs at once: the process pool's workers, a SLURM array's parallelism.
    device
        ``"auto"``, ``"cpu"``, ``"cuda"``, ... for every run.
    retry_failed
        Train again the runs whose directory records a failure.
    progress
        Show a progress bar over runs.
    stack
        ``"arms"``: train the arms of each seed as one stacked model (one task per seed and
        cell); ``None`` (default): one task per run.
    probe, log
        Passed to every run (:func:`~spcl_diag.runs.execute.run`), stacked or not: linear
        probes of the selected model, experiment loggers (``"tensorboard"``, ...).

    Returns
    -------
    BatchSummary
        The outcome of every run; a failed run never stops the batch.

    Raises
    ------
    BatchInterrupted
        On SIGINT or SIGTERM, once the workers have stopped; its message counts the runs done.

    Examples
    --------
    A second call finds the finished run and trains nothing:

    ```python
    from spcl_diag.batch import Grid, run_batch

    small = {"train.epochs": 1, "data.synthetic.n_dialogues": 12, "model.hidden_dim": 8}
    grid = Grid(curriculum=("none",), seed=(0,), overrides=small)
    first = run_batch(grid, "runs")
    again = run_batch(grid, "runs")
    first.line(), again.line()
    # ('1 runs: 1 done, 0 skipped, 0 failed', '1 runs: 0 done, 1 skipped, 0 failed')
    ```
    """
    if stack is not None and stack not in STACK_MODES:
        raise ConfigError(f"stack must be one of {', '.join(STACK_MODES)} or None; got {stack!r}.")
    pool = resolve_executor(executor, jobs=jobs)
    grid = load_grid(grid)
    configs = grid.configs()  # every value checked before anything is written
    out = Path(out)
    outcomes: list[TaskOutcome] = []
    todo: list[RunConfig] = []
    run_ids = [config.run_id() for config in configs]
    for config, run_id in zip(configs, run_ids):  # finished runs are counted here, without a lock or a worker
        started = time.perf_counter()
        task = RunTask(config.to_dict(), str(out), device, retry_failed)
        try:
            known = recorded_outcome(run_id, out / run_id, task, started)
        except RunSetupError as err:
            known = TaskOutcome(run_id, "failed", str(out / run_id), 0.0, str(err))
        if known is None:
            todo.append(config)
        else:
            outcomes.append(known)
    grid_path = record_grid(grid, out, required=bool(todo))
    waves = ([todo] if todo else []) if stack else schedule(todo)  # a stack holds its spcl arm: no second wave
    with interrupt.interruptible(), tqdm(total=len(configs), initial=len(outcomes), desc="runs", unit="run",
                                         disable=not progress) as bar:
        # the counter starts at the runs already there; the postfix says how many of them are done, skipped, failed
        bar.set_postfix_str(_counts_text(Counter(o.status for o in outcomes)))
        try:
            for wave in waves:
                tasks = stack_tasks(wave, str(out), device, retry_failed, probe=probe, log=log) if stack else [
                    RunTask(c.to_dict(), str(out), device, retry_failed, probe, tuple(log)) for c in wave]
                for outcome in pool.map_unordered(tasks):
                    outcomes += outcome.runs()
                    bar.update(len(outcome.runs()))
                    bar.set_postfix_str(_counts_text(Counter(o.status for o in outcomes)))
        except interrupt.BatchInterrupted as stop:
            clear_dead_owners(out)  # the workers are stopped: what they could not release goes too
            done = sum(complete_on_disk(out, run_id) for run_id in run_ids)
            raise interrupt.BatchInterrupted(
                stop.signum, f"interrupted: {done} of {len(configs)} runs done; run the same command to continue"
            ) from None
    clear_dead_owners(out)  # e.g. a killed driver's task that published its run, then died holding the lock
    counts = Counter(o.status for o in outcomes)
    return BatchSummary(tuple(outcomes), out, grid_path, {s: counts.get(s, 0) for s in ("done", "skipped", "failed")})


PLAN_KEYS: tuple[str, ...] = ("dataset", "backbone", "modalities", "balancing", "curriculum")
PLAN_STATES: tuple[str, ...] = ("done", "failed", "to train")


@dataclass(frozen=True)
class BatchPlan:
    """What :func:`run_batch` would do with a grid, without training (``spcl-diag batch --dry-run``).

    ``runs`` has one entry per run of the grid, in grid order: its run id, the
    :data:`PLAN_KEYS`, the seed and ``state``: ``done`` (finished in ``out``), ``failed``
    (a recorded failure: trained again only with ``retry_failed``) or ``to train`` (absent, or
    a stale folder that would be set aside).
    """

    runs: tuple[dict[str, Any], ...]
    out: Path
    retry_failed: bool = False

    def counts(self) -> list[dict[str, Any]]:
        """One row per cell and arm (:data:`PLAN_KEYS`), cells in grid order and arms in the order of
        :data:`~spcl_diag.curriculum.names.ARMS`: its runs and how many are in each state."""
        cells: dict[tuple, Counter[str]] = {}
        for entry in self.runs:
            cells.setdefault(tuple(entry[k] for k in PLAN_KEYS), Counter())[entry["state"]] += 1
        cell_order = {key[:-1]: i for i, key in reversed(list(enumerate(cells)))}  # first appearance of each cell

        def order(key: tuple) -> tuple:
            return cell_order[key[:-1]], ARMS.index(key[-1]) if key[-1] in ARMS else len(ARMS), str(key[-1])

        return [{**dict(zip(PLAN_KEYS, key)), "runs": sum(cells[key].values()),
                 **{s: cells[key].get(s, 0) for s in PLAN_STATES}} for key in sorted(cells, key=order)]

    def to_train(self) -> int:
        """Runs a batch would train: the absent and stale ones, and the failed ones with ``retry_failed``."""
        return sum(e["state"] == "to train" or (e["state"] == "failed" and self.retry_failed) for e in self.runs)

    def table(self) -> str:
        """Aligned lines of :meth:`counts` (what ``--dry-run`` prints)."""
        header = [*PLAN_KEYS[:-1], "arm", "runs", *PLAN_STATES]
        rows = [header, *([str(r[k]) for k in (*PLAN_KEYS, "runs", *PLAN_STATES)] for r in self.counts())]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        return "\n".join("  ".join(c.ljust(w) if i < len(PLAN_KEYS) else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows)

    def line(self) -> str:
        """``12 runs: 9 done, 1 failed, 2 to train (nothing trained: a dry run)``."""
        c = Counter(e["state"] for e in self.runs)
        retry = " (failed ones too: retry_failed)" if self.retry_failed and c.get("failed") else ""
        return (f"{len(self.runs)} runs: " + ", ".join(f"{c.get(s, 0)} {s}" for s in PLAN_STATES)
                + f"; a batch would train {self.to_train()}{retry} into {self.out} (nothing trained: a dry run)")


def plan_batch(grid: Grid | dict[str, Any] | str | Path, out: str | Path, *, retry_failed: bool = False) -> BatchPlan:
    """The runs ``grid`` expands to and which are already in ``out``; nothing is trained or written.

    Parameters
    ----------
    grid, out, retry_failed
        As :func:`run_batch`.

    Examples
    --------
    >>> import tempfile
    >>> grid = Grid(curriculum=("none", "spcl"), seed=(0, 1))
    >>> plan = plan_batch(grid, tempfile.mkdtemp())
    >>> plan.line().split(";")[0]
    '4 runs: 0 done, 0 failed, 4 to train'
    >>> [(r["curriculum"], r["runs"]) for r in plan.counts()]
    [('none', 2), ('spcl', 2)]
    """
    grid = load_grid(grid)
    folder = Path(out)
    runs = []
    for config in grid.configs():  # every value checked, as in run_batch
        run_id = config.run_id()
        try:
            state = rd.run_state(folder / run_id, run_id)
        except RunSetupError:
            state = "stale"
        runs.append({"run_id": run_id, **{k: getattr(config, k) for k in PLAN_KEYS}, "seed": config.seed,
                     "state": {"complete": "done", "failed": "failed"}.get(state, "to train")})
    return BatchPlan(tuple(runs), folder, retry_failed)


def stack_tasks(
    configs: list[RunConfig], out_dir: str, device: str, retry_failed: bool, *, probe: bool = False,
    log: Sequence[str] = (),
) -> list[Task]:
    """One :class:`StackTask` per group of runs that differ in their arm only; unstackable methods' runs alone.

    Whether a balancing method stacks is its spec's (``MethodSpec.stacks``; ``agm`` and
    ``mmpareto`` do not, :func:`~spcl_diag.train.stacked.unstackable_balancing`).
    """
    # imports torch: only when a batch stacks
    from spcl_diag.train.stacked import unstackable_balancing

    groups: dict[str, list[RunConfig]] = {}
    tasks: list[Task] = []
    for config in configs:
        if unstackable_balancing([config]):
            tasks.append(RunTask(config.to_dict(), out_dir, device, retry_failed, probe, tuple(log)))
        else:
            groups.setdefault(config.paired("spcl").run_id(), []).append(config)
    tasks += [StackTask(tuple(c.to_dict() for c in group), out_dir, device, retry_failed, probe, tuple(log))
              for group in groups.values()]
    return tasks


def schedule(configs: list[RunConfig]) -> list[list[RunConfig]]:
    """Split runs into waves: independent runs, then those that replay an spcl twin (:func:`twin_of`)."""
    independent = [c for c in configs if twin_of(c) is None]
    dependants = [c for c in configs if twin_of(c) is not None]
    return [wave for wave in (independent, dependants) if wave]


def record_grid(grid: Grid, out_dir: Path, *, required: bool = True) -> Path | None:
    """Write ``<out_dir>/grids/<fingerprint>.json`` once (an identical grid is not rewritten).

    Returns None when the folder cannot be written and nothing has to be (``required=False``:
    every run is already on disk, e.g. a read-only archive).

    Raises
    ------
    RunSetupError
        ``required`` and ``out_dir`` cannot be created or written.
    """
    path = out_dir / GRIDS_DIR / f"{grid.fingerprint()}.json"
    if required and out_dir.is_dir() and not os.access(out_dir, os.W_OK | os.X_OK):
        raise RunSetupError(
            f"the output folder {out_dir} is not writable: its finished runs can be read, but the runs "
            "still to train need another folder (--out)."
        )
    if path.exists():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(grid.to_dict(), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)
    except OSError as err:
        if not required:
            return None
        raise RunSetupError(
            f"cannot write to the output folder {out_dir} ({err.strerror or err}); choose another folder (--out)."
        ) from None
    return path


def recorded_grids(out_dir: str | Path) -> list[dict[str, Any]]:
    """The grids that batches have recorded in ``out_dir`` (empty if none)."""
    folder = Path(out_dir) / GRIDS_DIR
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def _counts_text(counts: Counter[str]) -> str:
    return ", ".join(f"{counts.get(s, 0)} {s}" for s in ("done", "skipped", "failed"))
