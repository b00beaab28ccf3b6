"""The cluster executors for real: a local Ray cluster (2 CPUs) and submitit's local executor.

Ray: a batch solo and stacked, a Ray worker killed mid-run (Ray runs the task again; the
dead worker's lock is broken), and a driver killed mid-batch and started again. submitit: the
same pickling and job folders as on SLURM, and a job preempted the way SLURM preempts one
(``USR2`` to the job's process), which submitit requeues and which then finishes the run.
Every condition is polled for; nothing is timed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from spcl_diag.batch import Grid, make_executor, run_batch
from spcl_diag.batch.locking import LOCK_DIR, pid_alive

from .conftest import TINY
from .test_interrupt import PATIENCE, _complete, _env, _wait_for

SLOWER = {**TINY, "train.epochs": 8}  # a run long enough to be caught mid-training


def _grid_file(tmp_path: Path, grid: Grid) -> Path:
    path = tmp_path / "grid.toml"
    overrides = "\n".join(f'"{k}" = {json.dumps(v)}' for k, v in grid.overrides.items())
    path.write_text(f"curriculum = {json.dumps(list(grid.curriculum))}\nseed = {list(grid.seed)}\n\n"
                    f"[overrides]\n{overrides}\n")
    return path


def _training_pid(out: Path) -> int | None:
    """The pid of a process writing a run right now (it holds the run's lock and has its temporary folder), or None."""
    for lock in (out / LOCK_DIR).glob("*.lock") if (out / LOCK_DIR).is_dir() else ():
        try:
            pid = int(json.loads(lock.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            continue  # being written or just released
        if (out / f".{lock.stem}.tmp-{pid}").is_dir():
            return pid
    return None


def _live_locks(out: Path) -> list[Path]:
    folder = out / LOCK_DIR
    return [p for p in folder.glob("*.lock") if pid_alive(json.loads(p.read_text() or '{"pid": 0}').get("pid", 0))] \
        if folder.is_dir() else []


def _clean(out: Path) -> None:
    assert not list(out.glob(".*.tmp-*")) and not list(out.glob("*.failed-*"))
    assert not list((out / LOCK_DIR).glob("*.lock"))


# ----------------------------------------------------------------------------------------------- Ray


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray cluster with 2 CPUs, started for these tests; its GCS address."""
    ray = pytest.importorskip("ray", reason="the ray executor needs the optional ray package (pip install -e '.[ray]')")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", _env()["PYTHONPATH"])  # the Ray workers import this checkout, as the drivers do
        context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
        yield context.address_info["gcs_address"]
        ray.shutdown()


def test_a_batch_runs_solo_and_stacked_on_ray_and_then_has_nothing_to_do(tmp_path, ray_address):
    grid = Grid(curriculum=("none", "spcl", "random"), seed=(0,), overrides=TINY)
    for stack in (None, "arms"):
        out = tmp_path / str(stack)
        executor = make_executor("ray", address=ray_address, num_cpus=1)
        summary = run_batch(grid, out, executor=executor, device="cpu", progress=False, stack=stack)
        assert summary.line() == "3 runs: 3 done, 0 skipped, 0 failed", [o.message for o in summary.failed]
        again = run_batch(grid, out, executor=executor, device="cpu", progress=False, stack=stack)
        assert again.line() == "3 runs: 0 done, 3 skipped, 0 failed"
        _clean(out)


def test_a_ray_worker_killed_mid_run_is_retried_and_nothing_is_lost_or_trained_twice(tmp_path, ray_address):
    grid = Grid(curriculum=("none", "spcl"), seed=(0,), overrides=SLOWER)
    out = tmp_path / "runs"
    killed: list[int] = []

    def kill_one_worker() -> None:
        deadline = time.monotonic() + PATIENCE
        while not killed and time.monotonic() < deadline:
            pid = _training_pid(out)
            if pid is not None and pid != os.getpid():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    summary = run_batch(grid, out, executor=make_executor("ray", address=ray_address), device="cpu", progress=False)
    killer.join()
    assert killed, "no run was caught training"
    assert summary.line() == "2 runs: 2 done, 0 skipped, 0 failed", [o.message for o in summary.failed]
    assert len(_complete(out)) == 2
    _clean(out)


def test_a_killed_ray_driver_is_resumed_by_running_the_batch_again(tmp_path, ray_address):
    grid = _grid_file(tmp_path, Grid(curriculum=("none", "spcl"), seed=(0, 1, 2), overrides=SLOWER))
    out = tmp_path / "runs"
    command = [sys.executable, "-m", "spcl_diag.cli.main", "batch", str(grid), "--out", str(out), "--device", "cpu",
               "--quiet", "--executor", "ray", "--ray-address", ray_address]
    driver = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: out.is_dir() and bool(_complete(out)) or driver.poll() is not None, "a first complete run")
        assert driver.poll() is None, driver.communicate()
        driver.kill()
        driver.wait(timeout=PATIENCE)
    finally:
        if driver.poll() is None:
            driver.kill()
    _wait_for(lambda: not _live_locks(out), "Ray to stop the dead driver's tasks")
    done_before = _complete(out)
    rerun = subprocess.run(command, check=False, env=_env(), capture_output=True, text=True, timeout=PATIENCE)
    assert rerun.returncode == 0, rerun.stderr
    # a task of the dead driver that Ray had not stopped yet may still finish a run: the re-run skips it
    found = re.search(r"6 runs: (\d+) done, (\d+) skipped, 0 failed", rerun.stdout)
    assert found and int(found.group(2)) >= len(done_before), rerun.stdout
    after = _complete(out)
    assert len(after) == 6 and all(after[run_id] == ino for run_id, ino in done_before.items())
    _clean(out)


# ------------------------------------------------------------------------------------------ submitit


def test_submitit_local_jobs_run_a_batch_and_a_preempted_job_is_requeued(tmp_path):
    pytest.importorskip("submitit", reason="the slurm executor needs the optional submitit package")
    grid = Grid(curriculum=("none", "spcl"), seed=(0,), overrides=SLOWER)
    out = tmp_path / "runs"
    preempted: list[int] = []

    def preempt_one_job() -> None:  # as SLURM does: USR2 to the job's process (submitit's --signal)
        deadline = time.monotonic() + PATIENCE
        while not preempted and time.monotonic() < deadline:
            pid = _training_pid(out)
            if pid is not None:
                os.kill(pid, signal.SIGUSR2)
                preempted.append(pid)
            time.sleep(0.05)

    thread = threading.Thread(target=preempt_one_job)
    thread.start()
    executor = make_executor("slurm", cluster="local", timeout_min=60)
    summary = run_batch(grid, out, executor=executor, device="cpu", progress=False)
    thread.join()
    assert preempted, "no job was caught training"
    assert summary.line() == "2 runs: 2 done, 0 skipped, 0 failed", [o.message for o in summary.failed]
    logs = "".join(p.read_text() for p in (out / ".submitit").glob("*_log.*"))
    assert "this job is preempted" in logs and "Requeued job" in logs
    assert len(_complete(out)) == 2
    _clean(out)
