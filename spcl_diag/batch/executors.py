"""Where the runs of a batch execute: in this process, a process pool, SLURM or Ray.

Every executor has one method, ``map_unordered(tasks)``, which runs
:func:`~spcl_diag.batch.task.execute_task` on each task and yields the outcomes as they
finish. The same grid runs unchanged on each. submitit and Ray are optional extras
(``pip install spcl_diag[slurm]`` / ``spcl_diag[ray]``), imported only when chosen.
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Protocol

from spcl_diag.batch.task import RunTask, TaskOutcome, execute_task
from spcl_diag.errors import ConfigError

EXECUTORS: tuple[str, ...] = ("local", "process", "slurm", "ray")


class Executor(Protocol):
    """Runs batch tasks and yields their outcomes in completion order."""

    def map_unordered(self, tasks: Sequence[RunTask]) -> Iterator[TaskOutcome]: ...


class LocalExecutor:
    """One run after another in this process."""

    def map_unordered(self, tasks: Sequence[RunTask]) -> Iterator[TaskOutcome]:
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

    def map_unordered(self, tasks: Sequence[RunTask]) -> Iterator[TaskOutcome]:
        if not tasks:
            return
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
                yield _outcome(futures[future], future.result)


class SubmititExecutor:
    """One SLURM job array per wave of runs, through submitit.

    Parameters
    ----------
    folder
        Where submitit keeps job scripts and logs (default ``<runs>/.submitit``).
    cluster
        ``None`` lets submitit detect SLURM; ``"local"`` runs the jobs as local processes
        (for testing), ``"debug"`` in this process.
    parameters
        Passed to ``AutoExecutor.update_parameters`` (``timeout_min``, ``slurm_partition``,
        ``gpus_per_node``, ``slurm_array_parallelism``, ...).
    """

    def __init__(self, folder: str | Path | None = None, *, cluster: str | None = None, **parameters: Any) -> None:
        self.submitit = _require("submitit", "slurm")
        self.folder = folder
        self.cluster = cluster
        self.parameters = dict(parameters)

    def map_unordered(self, tasks: Sequence[RunTask]) -> Iterator[TaskOutcome]:
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
    """

    def __init__(self, address: str | None = None, *, num_cpus: float = 1, num_gpus: float = 0) -> None:
        self.ray = _require("ray", "ray")
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus

    def map_unordered(self, tasks: Sequence[RunTask]) -> Iterator[TaskOutcome]:
        ray = self.ray
        if not ray.is_initialized():
            ray.init(address=self.address, ignore_reinit_error=True)
        remote = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus)(execute_task)
        task_of = {remote.remote(task): task for task in tasks}
        pending = list(task_of)
        while pending:
            (ref,), pending = ray.wait(pending, num_returns=1)
            yield _outcome(task_of[ref], functools.partial(ray.get, ref))


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


def _outcome(task: RunTask, result: Callable[[], TaskOutcome]) -> TaskOutcome:
    """The outcome a worker returned, or a failed one when the worker itself died."""
    try:
        return result()
    except Exception as err:  # noqa: BLE001 - a killed worker, a cancelled job, a lost node
        return TaskOutcome(task.run_id, "failed", str(Path(task.out_dir) / task.run_id), 0.0, f"worker lost: {err!r}")


def _require(module: str, extra: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise ConfigError(
            f"the {extra!r} executor needs the optional package {module!r}, which is not installed; "
            f"install it with: pip install 'spcl_diag[{extra}]'"
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


def _execute_in_worker(task: RunTask) -> TaskOutcome:
    if _WORKER_DEVICE is not None and task.device in ("auto", "cuda"):
        task = RunTask(task.config, task.out_dir, _WORKER_DEVICE, task.retry_failed)
    return execute_task(task)
