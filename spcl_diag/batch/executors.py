"""Where the runs of a batch execute: in this process, a process pool, SLURM or Ray.

Every executor has one method, ``map_unordered(tasks)``, which runs
:func:`~spcl_diag.batch.task.execute_task` on each task and yields the outcomes as they
finish. The same grid runs unchanged on each. submitit and Ray are optional extras
(``pip install spcl_diag[slurm]`` / ``spcl_diag[ray]``; in a source checkout
``pip install -e ".[ray]"``), imported only when chosen.
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing as mp
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol

from spcl_diag.batch.task import RunTask, Task, TaskOutcome, execute_task
from spcl_diag.errors import ConfigError, RunSetupError
from spcl_diag.runs import directory as rd

EXECUTORS: tuple[str, ...] = ("local", "process", "slurm", "ray")
SUBMITIT_CLUSTERS: tuple[str, ...] = ("slurm", "local", "debug")
POOL_RESTARTS = 2  # fresh pools tried for the runs a dead worker took down with it


class Executor(Protocol):
    """Runs batch tasks and yields their outcomes in completion order."""

    def map_unordered(self, tasks: Sequence[Task]) -> Iterator[TaskOutcome]: ...


class LocalExecutor:
    """One run after another in this process."""

    def map_unordered(self, tasks: Sequence[Task]) -> Iterator[TaskOutcome]:
        for task in tasks:
            yield execute_task(task)


class ProcessExecutor:
    """Several runs at once in worker processes of this machine.

    Parameters
    ----------
    jobs
        Number of worker processes (runs at once).
    threads_per_job
        Torch intra-op threads per worker; by default the CPU cores shared evenly among
        the workers (at least one), so ``jobs`` workers do not oversubscribe the machine.

    Notes
    -----
    Workers start with the ``spawn`` method (forking a process that has initialised torch or
    CUDA is unsafe). With ``device="auto"`` or ``"cuda"`` and CUDA present, worker ``i``
    trains on ``cuda:(i mod n_gpus)``: small runs leave a GPU mostly idle, so several share it.
    """

    def __init__(self, jobs: int = 2, *, threads_per_job: int | None = None) -> None:
        if jobs < 1:
            raise ConfigError(f"jobs must be >= 1; got {jobs}.")
        self.jobs = jobs
        self.threads_per_job = threads_per_job or max(1, _cpu_count() // jobs)

    def map_unordered(self, tasks: Sequence[Task]) -> Iterator[TaskOutcome]:
        """Run ``tasks``; when a worker dies, count what finished on disk and retry the rest.

        A dead worker breaks the whole pool: every run still in it loses its result. Those
        whose run directory is complete are counted ``done``; the others go to a fresh pool,
        at most :data:`POOL_RESTARTS` times, before they are reported as failed.
        """
        pending = list(tasks)
        for attempt in range(POOL_RESTARTS + 1):
            lost: list[tuple[Task, BaseException]] = []
            for task, outcome, err in self._one_pool(pending):
                if outcome is not None:
                    yield outcome
                elif _finished_on_disk(task):
                    yield _lost(task, err)  # every run of it finished: counted done
                else:
                    lost.append((task, err))  # type: ignore[arg-type]
            if not lost:
                return
            pending = [task for task, _ in lost]
        for task, err in lost:
            yield _lost(task, err)

    def _one_pool(self, tasks: list[Task]) -> Iterator[tuple[Task, TaskOutcome | None, BaseException | None]]:
        ctx = mp.get_context("spawn")
        slots = ctx.Queue()
        for i in range(self.jobs):
            slots.put(i)
        with ProcessPoolExecutor(
            max_workers=min(self.jobs, len(tasks)),
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(slots, self.threads_per_job),
        ) as pool:
            futures = {pool.submit(_execute_in_worker, task): task for task in tasks}
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result(), None
                except BrokenProcessPool as err:  # a worker died (killed, out of memory, segfault)
                    yield futures[future], None, err
                except Exception as err:  # noqa: BLE001 - cannot happen for execute_task; report, never raise
                    yield futures[future], _lost(futures[future], err), None


class SubmititExecutor:
    """One SLURM job array per wave of runs, through submitit.

    Parameters
    ----------
    folder
        Where submitit keeps job scripts and logs (default ``<runs>/.submitit``).
    cluster
        ``"slurm"`` (the default) submits to SLURM and is refused on a machine without it
        (no ``sbatch``), instead of silently running locally; ``"local"`` runs the jobs as
        local processes through submitit, ``"debug"`` in this process (both for testing).
    parameters
        Passed to ``AutoExecutor.update_parameters`` (``timeout_min``, ``slurm_partition``,
        ``gpus_per_node``, ``slurm_array_parallelism``, ...).
    """

    def __init__(self, folder: str | Path | None = None, *, cluster: str | None = "slurm", **parameters: Any) -> None:
        self.submitit = _require("submitit", "slurm")
        cluster = cluster or "slurm"
        if cluster not in SUBMITIT_CLUSTERS:
            raise ConfigError(f"unknown submitit cluster {cluster!r}; valid clusters are {', '.join(SUBMITIT_CLUSTERS)}.")
        if cluster == "slurm" and shutil.which("sbatch") is None:
            raise ConfigError(
                "the slurm executor found no SLURM on this machine (no sbatch command); run it on a SLURM login "
                "node, or pass --cluster local (submitit jobs as local processes) or --cluster debug (in this "
                "process) to test the batch here."
            )
        self.folder = folder
        self.cluster = cluster
        self.parameters = dict(parameters)

    def map_unordered(self, tasks: Sequence[Task]) -> Iterator[TaskOutcome]:
        if not tasks:
            return
        folder = self.folder or Path(tasks[0].out_dir) / ".submitit"
        executor = self.submitit.AutoExecutor(folder=str(folder), cluster=self.cluster)
        if self.parameters:
            executor.update_parameters(**self.parameters)
        jobs = executor.map_array(execute_task, list(tasks))
        task_of = {job.job_id: task for job, task in zip(jobs, tasks)}
        for job in self.submitit.helpers.as_completed(jobs):
            yield _outcome(task_of[job.job_id], job.result)


class RayExecutor:
    """Runs as Ray tasks, on a running cluster (``address``) or a local Ray instance.

    Parameters
    ----------
    address
        Passed to ``ray.init`` (``"auto"`` joins a running cluster; ``None`` starts one).
    num_cpus, num_gpus
        Resources each run asks for; fractional GPUs put several runs on one device.
        ``num_gpus=None`` (the default) asks for one GPU per run when the runs are on CUDA
        (:func:`ray_gpus`), none otherwise.
    """

    def __init__(self, address: str | None = None, *, num_cpus: float = 1, num_gpus: float | None = None) -> None:
        self.ray = _require("ray", "ray")
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus

    def map_unordered(self, tasks: Sequence[Task]) -> Iterator[TaskOutcome]:
        ray = self.ray
        if not tasks:
            return
        if not ray.is_initialized():
            ray.init(address=self.address, ignore_reinit_error=True)
        num_gpus = ray_gpus(tasks[0].device, self.num_gpus, ray.cluster_resources().get("GPU", 0))
        remote = ray.remote(num_cpus=self.num_cpus, num_gpus=num_gpus)(execute_task)
        task_of = {remote.remote(task): task for task in tasks}
        pending = list(task_of)
        while pending:
            (ref,), pending = ray.wait(pending, num_returns=1)
            yield _outcome(task_of[ref], functools.partial(ray.get, ref))


def ray_gpus(device: str, requested: float | None, cluster_gpus: float) -> float:
    """GPUs one Ray task asks for: ``requested``, else 1 for a CUDA run (``auto`` with GPUs in the cluster).

    Examples
    --------
    >>> ray_gpus("cuda", None, 4), ray_gpus("auto", None, 0), ray_gpus("cpu", None, 4), ray_gpus("cuda", 0.25, 4)
    (1.0, 0.0, 0.0, 0.25)
    """
    if requested is not None:
        return float(requested)
    cuda = str(device).startswith("cuda") or (device == "auto" and cluster_gpus > 0)
    return 1.0 if cuda else 0.0


def make_executor(name: str = "local", *, jobs: int = 1, **options: Any) -> Executor:
    """The executor called ``name`` (one of :data:`EXECUTORS`).

    Parameters
    ----------
    name
        ``local``, ``process``, ``slurm`` or ``ray``.
    jobs
        Worker processes of the ``process`` executor.
    **options
        Keyword arguments of the chosen executor class.
    """
    if name == "local":
        return LocalExecutor()
    if name == "process":
        return ProcessExecutor(jobs, **options)
    if name == "slurm":
        return SubmititExecutor(**options)
    if name == "ray":
        return RayExecutor(**options)
    raise ConfigError(f"unknown executor {name!r}; valid executors are {', '.join(EXECUTORS)}.")


def _outcome(task: Task, result: Callable[[], TaskOutcome]) -> TaskOutcome:
    """The outcome a worker returned; when the worker itself died, ``done`` for each run that is on disk."""
    try:
        return result()
    except Exception as err:  # noqa: BLE001 - a killed worker, a cancelled job, a lost node
        return _lost(task, err)


def _lost(task: Task, err: BaseException | None) -> TaskOutcome:
    """The outcome of a task whose worker died: each run ``done`` if it finished on disk, else ``failed``."""
    out = Path(task.out_dir)
    runs = tuple(
        TaskOutcome(run_id, "done", str(out / run_id), 0.0, "finished; its worker died before reporting")
        if _complete(out, run_id) else
        TaskOutcome(run_id, "failed", str(out / run_id), 0.0,
                    f"its worker died before the run finished ({err!r}); run the batch again to retry it")
        for run_id in task.run_ids
    )
    if isinstance(task, RunTask):
        return runs[0]
    status = "failed" if any(r.status == "failed" for r in runs) else "done"
    return TaskOutcome(task.run_id, status, str(out), 0.0, members=runs)  # type: ignore[arg-type]


def _finished_on_disk(task: Task) -> bool:
    return all(_complete(Path(task.out_dir), run_id) for run_id in task.run_ids)


def _complete(out: Path, run_id: str) -> bool:
    try:
        return rd.run_state(out / run_id, run_id) == "complete"
    except RunSetupError:
        return False


def install_hint(extra: str) -> str:
    """``pip install -e ".[ray]"`` for a source checkout (editable install), else ``pip install 'spcl_diag[ray]'``."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "spcl_diag").is_dir():
        return f'pip install -e ".[{extra}]" (in {checkout})'
    return f"pip install 'spcl_diag[{extra}]'"


def _require(module: str, extra: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise ConfigError(
            f"the {extra!r} executor needs the optional package {module!r}, which is not installed; "
            f"install it with: {install_hint(extra)}"
        ) from None


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_WORKER_DEVICE: str | None = None  # set per worker by _init_worker


def _init_worker(slots: Any, threads: int) -> None:
    global _WORKER_DEVICE
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass
    slot = slots.get()
    if torch.cuda.is_available():
        _WORKER_DEVICE = f"cuda:{slot % torch.cuda.device_count()}"


def _execute_in_worker(task: Task) -> TaskOutcome:
    if _WORKER_DEVICE is not None and task.device in ("auto", "cuda"):
        task = dataclasses.replace(task, device=_WORKER_DEVICE)
    return execute_task(task)
