"""run_batch: resume, failures, dependants, executors."""

from __future__ import annotations

import json
import os
import socket
import sys

import pytest

from spcl_diag.batch import Grid, LocalExecutor, make_executor, recorded_grids, run_batch
from spcl_diag.batch.locking import LOCK_DIR
from spcl_diag.errors import ConfigError
from spcl_diag.runs import directory as rd

from .conftest import TINY
from .test_locking import count_waits, dead_pid


def run_dirs(out):
    return sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "grids")


def test_batch_runs_every_run_once_and_resumes(tiny_grid, tmp_path):
    first = run_batch(tiny_grid, tmp_path, device="cpu", progress=False)
    assert first.counts == {"done": 4, "skipped": 0, "failed": 0}
    assert first.line() == "4 runs: 4 done, 0 skipped, 0 failed"
    assert sorted(run_dirs(tmp_path)) == sorted(c.run_id() for c in tiny_grid.configs())
    again = run_batch(tiny_grid, tmp_path, device="cpu", progress=False)
    assert again.counts == {"done": 0, "skipped": 4, "failed": 0}
    assert recorded_grids(tmp_path) == [tiny_grid.to_dict()]
    assert not list((tmp_path / LOCK_DIR).iterdir())


def test_a_finished_run_locked_by_a_dead_process_is_skipped_and_its_lock_removed(tiny_grid, tmp_path):
    """A run published by a worker that died before releasing its lock (a killed Ray driver's task) is read
    back without its lock; the batch removes that dead owner's lock at its end, and keeps a live owner's."""
    run_batch(tiny_grid, tmp_path, device="cpu", progress=False)
    dead_id, live_id = (c.run_id() for c in tiny_grid.configs()[:2])
    dead = tmp_path / LOCK_DIR / f"{dead_id}.lock"
    live = tmp_path / LOCK_DIR / f"{live_id}.lock"
    dead.write_text(json.dumps({"host": socket.gethostname(), "pid": dead_pid()}))
    live.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getppid()}))
    again = run_batch(tiny_grid, tmp_path, device="cpu", progress=False)
    assert again.counts == {"done": 0, "skipped": 4, "failed": 0}
    assert not dead.exists() and live.exists()


def test_resume_after_a_crash_cleans_up_and_loses_nothing(tiny_grid, tmp_path, monkeypatch):
    configs = tiny_grid.configs()
    run_batch(Grid.from_dict({**tiny_grid.to_dict(), "seed": [0]}), tmp_path, device="cpu", progress=False)
    # a process killed (-9) while writing seed 1's spcl run: a partial temp dir and its lock
    crashed = next(c for c in configs if c.seed == 1 and c.curriculum == "spcl").run_id()
    pid = dead_pid()
    partial = tmp_path / f".{crashed}.tmp-{pid}"
    partial.mkdir()
    (partial / rd.CONFIG).write_text("{}")
    (tmp_path / LOCK_DIR / f"{crashed}.lock").write_text(json.dumps({"host": socket.gethostname(), "pid": pid}))
    waits = count_waits(monkeypatch)
    summary = run_batch(tiny_grid, tmp_path, device="cpu", progress=False)
    assert summary.counts == {"done": 2, "skipped": 2, "failed": 0}
    assert sorted(run_dirs(tmp_path)) == sorted(c.run_id() for c in configs)
    assert all(rd.is_complete(tmp_path / c.run_id()) for c in configs)
    assert not partial.exists() and not list(tmp_path.glob(".*.tmp-*"))
    assert not list((tmp_path / LOCK_DIR).iterdir())
    assert waits == []  # the dead process's lock was broken at once: the batch never waited on it


def test_a_failing_run_is_recorded_and_the_batch_goes_on(tmp_path, monkeypatch):
    from spcl_diag.runs import execute

    real = execute.train_run

    def fails_for_seed_1(config, *args, **kwargs):
        if config.seed == 1:
            raise RuntimeError("boom in training")
        return real(config, *args, **kwargs)

    monkeypatch.setattr(execute, "train_run", fails_for_seed_1)
    grid = Grid(curriculum=("none",), seed=(0, 1), overrides=TINY)
    summary = run_batch(grid, tmp_path, device="cpu", progress=False)
    assert summary.counts == {"done": 1, "skipped": 0, "failed": 1}
    (failed,) = summary.failed
    assert "boom in training" in (tmp_path / failed.run_id / rd.ERROR).read_text()
    assert failed.message == "RuntimeError: boom in training"
    assert "--retry-failed" in summary.line()
    again = run_batch(grid, tmp_path, device="cpu", progress=False)
    assert again.counts == {"done": 0, "skipped": 1, "failed": 1}
    assert "retry_failed" in again.failed[0].message and "boom in training" in again.failed[0].message
    retried = run_batch(grid, tmp_path, device="cpu", progress=False, retry_failed=True)
    assert retried.counts["failed"] == 1
    assert (tmp_path / f"{failed.run_id}.failed-1" / rd.ERROR).is_file()  # the old failure is kept


def test_a_run_that_cannot_start_is_not_recorded(tmp_path):
    grid = Grid(dataset=("synthetic", "no_such_dataset"), curriculum=("none",), seed=(0,), overrides=TINY)
    summary = run_batch(grid, tmp_path, device="cpu", progress=False)
    assert summary.counts == {"done": 1, "skipped": 0, "failed": 1}
    (failed,) = summary.failed
    assert "no_such_dataset" in failed.message and "could not start" in failed.message
    assert not (tmp_path / failed.run_id).exists() and "--retry-failed" not in summary.line()


def test_dependants_train_their_twin_and_report_a_failed_twin(tmp_path):
    grid = Grid(curriculum=("random",), seed=(0,), overrides=TINY)
    summary = run_batch(grid, tmp_path, device="cpu", progress=False)
    assert summary.counts["done"] == 1
    (config,) = grid.configs()
    assert rd.is_complete(tmp_path / config.paired("spcl").run_id())
    bad = Grid(dataset=("no_such_dataset",), curriculum=("anti",), seed=(0,), overrides=TINY)
    (outcome,) = run_batch(bad, tmp_path, device="cpu", progress=False).outcomes
    assert outcome.status == "failed" and "paired spcl run" in outcome.message


def test_process_pool_runs_a_grid(tmp_path):
    grid = Grid(curriculum=("none", "spcl", "random"), seed=(0,), overrides=TINY)
    summary = run_batch(grid, tmp_path, executor=make_executor("process", jobs=2), device="cpu", progress=False)
    assert summary.counts == {"done": 3, "skipped": 0, "failed": 0}
    assert sorted(run_dirs(tmp_path)) == sorted(c.run_id() for c in grid.configs())


def test_submitit_debug_executor_runs_the_same_grid(tiny_grid, tmp_path):
    pytest.importorskip("submitit")
    grid = Grid.from_dict({**tiny_grid.to_dict(), "seed": [0]})
    summary = run_batch(grid, tmp_path, executor=make_executor("slurm", cluster="debug"), device="cpu", progress=False)
    assert summary.counts == {"done": 2, "skipped": 0, "failed": 0}
    local = run_batch(grid, tmp_path, executor=LocalExecutor(), device="cpu", progress=False)
    assert local.counts["skipped"] == 2


@pytest.mark.parametrize(("name", "module"), [("slurm", "submitit"), ("ray", "ray")])
def test_missing_optional_executor_says_how_to_install_it(name, module, monkeypatch):
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail
    with pytest.raises(ConfigError, match=rf'pip install -e "\.\[{name}\]"'):  # a source checkout
        make_executor(name)


def test_unknown_executor_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="local, process, slurm, ray"):
        make_executor("threads")


def test_batch_command(tmp_path, capsys):
    from spcl_diag.cli.main import main

    grid = tmp_path / "grid.toml"
    overrides = "\n".join(f'"{k}" = {json.dumps(v)}' for k, v in TINY.items())
    grid.write_text(f'curriculum = ["none"]\nseed = [0]\n\n[overrides]\n{overrides}\n')
    assert main(["batch", str(grid), "--out", str(tmp_path / "runs"), "--device", "cpu", "--quiet"]) == 0
    assert "1 runs: 1 done, 0 skipped, 0 failed" in capsys.readouterr().out
    assert os.path.isdir(tmp_path / "runs" / "grids")


@pytest.mark.parametrize("stack", [None, "arms"])
@pytest.mark.parametrize(("name", "options"), [("local", {}), ("process", {"jobs": 2}), ("slurm", {"cluster": "debug"}),
                                               ("slurm", {"cluster": "local"})])
def test_a_finished_grid_has_nothing_to_do_on_every_executor_and_stack_mode(tmp_path, name, options, stack):
    if name == "slurm":
        pytest.importorskip("submitit", reason="the slurm executor needs the optional submitit package")
    grid = Grid(curriculum=("none", "spcl"), seed=(0,), overrides=TINY)
    run_batch(grid, tmp_path, device="cpu", progress=False)
    again = run_batch(grid, tmp_path, executor=make_executor(name, **options), device="cpu", progress=False, stack=stack)
    assert again.line() == "2 runs: 0 done, 2 skipped, 0 failed"


@pytest.mark.parametrize(("name", "options"), [("local", {}), ("process", {"jobs": 2}), ("slurm", {"cluster": "debug"})])
def test_an_executor_given_no_task_does_nothing(name, options):
    if name == "slurm":
        pytest.importorskip("submitit", reason="the slurm executor needs the optional submitit package")
    assert list(make_executor(name, **options).map_unordered([])) == []


def test_the_runs_that_replay_an_spcl_twin_wait_for_the_second_wave():
    from spcl_diag.batch.runner import schedule
    from spcl_diag.runs.lifecycle import twin_of

    configs = Grid(curriculum=("random", "none", "anti", "spcl", "spcl-utterance"), seed=(0,)).configs()
    first, second = schedule(configs)
    assert {c.curriculum for c in second} == {"random", "anti"}
    assert {twin_of(c).run_id() for c in second} <= {c.run_id() for c in first}
    independent = [c for c in configs if c.curriculum in ("none", "spcl-utterance")]
    assert schedule(independent) == [independent]  # no twin to wait for: one wave
