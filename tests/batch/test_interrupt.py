"""SIGINT and SIGTERM stop a real ``--jobs 2`` batch cleanly, and running it again trains only the rest.

Each test starts ``spcl-diag batch`` in its own process group, waits (polling, never timing)
until a first run is complete, sends the signal to the main process (as ``kill`` or
``timeout`` do) or to the whole group (as a terminal's Ctrl-C does), and checks: exit status
128 + signal, one line saying how many runs are done, no live process left in the group, no
lock and no temporary folder left, and a re-run that trains exactly the runs not yet done.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import spcl_diag
from spcl_diag.batch import run_batch
from spcl_diag.batch.locking import LOCK_DIR

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc (Linux)")

GRID = """
curriculum = ["none", "spcl"]
seed = [0, 1, 2, 3]
[overrides]
"train.epochs" = 4
"train.batch_size" = 4
"data.synthetic.n_dialogues" = 16
"data.synthetic.min_length" = 3
"data.synthetic.max_length" = 8
"model.hidden_dim" = 8
"model.feedforward_dim" = 16
"""
N_RUNS = 8
PATIENCE = 180.0  # seconds to wait for a condition on a loaded 2-core machine; never a measured duration


def _env() -> dict[str, str]:
    root = str(Path(spcl_diag.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}


def _batch(grid: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "spcl_diag.cli.main", "batch", str(grid), "--out", str(out), "--device", "cpu",
            "--quiet", *extra]


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def _complete(out: Path) -> dict[str, int]:
    """Run id -> inode of its result.json, for every complete run."""
    return {d.name: (d / "result.json").stat().st_ino for d in out.iterdir() if (d / "result.json").is_file()}


def _live_members(pgid: int) -> list[str]:
    """Processes of group ``pgid`` that are still running (zombies are already dead)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited while we looked
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(stat.parent.name)
    return members


def _interrupt(tmp_path: Path, sig: signal.Signals, *, group: bool, stack: bool, twice: bool = False) -> tuple[str, int]:
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    out = tmp_path / "runs"
    extra = ("--jobs", "2", *(("--stack", "arms") if stack else ()))
    proc = subprocess.Popen(_batch(grid, out, *extra), env=_env(), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: out.is_dir() and bool(_complete(out)) or proc.poll() is not None, "a first complete run")
        assert proc.poll() is None, f"the batch ended before the signal: {proc.communicate()}"
        send = os.killpg if group else os.kill
        send(proc.pid, sig)
        if twice:
            time.sleep(0.2)
            if proc.poll() is None:
                send(proc.pid, sig)
        _, err = proc.communicate(timeout=PATIENCE)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    _wait_for(lambda: not _live_members(proc.pid), "the batch's processes to end")
    return err, proc.returncode


def _resume(tmp_path: Path, done_before: dict[str, int], *, command_line: bool = False) -> None:
    """Run the batch again: the finished runs are kept as they are, the rest trained once; nothing left over.

    With ``command_line`` the same ``spcl-diag batch`` command runs again, in a new process;
    otherwise :func:`run_batch` runs the grid file in this process, which saves a Python and
    torch start-up and resumes the same way (the command only parses, calls it and prints).
    """
    out = tmp_path / "runs"
    skipped = len(done_before)
    expected = f"{N_RUNS} runs: {N_RUNS - skipped} done, {skipped} skipped, 0 failed"
    if command_line:
        rerun = subprocess.run(_batch(tmp_path / "grid.toml", out), check=False, env=_env(), capture_output=True,
                               text=True, timeout=PATIENCE)
        assert rerun.returncode == 0, rerun.stderr
        assert expected in rerun.stdout, (rerun.stdout, rerun.stderr)
    else:
        assert run_batch(tmp_path / "grid.toml", out, device="cpu", progress=False).line() == expected
    after = _complete(out)
    assert len(after) == N_RUNS and all(after[run_id] == ino for run_id, ino in done_before.items()), (after, done_before)
    left = [*out.glob(".*.tmp-*"), *out.glob("*.failed-*"), *(out / LOCK_DIR).glob("*.lock")]
    assert not left, f"left behind by the re-run: {sorted(p.name for p in left)}"


@pytest.mark.parametrize(
    ("sig", "group", "stack"),
    [
        pytest.param(signal.SIGINT, True, False, id="ctrl-c-to-the-group-solo"),
        pytest.param(signal.SIGTERM, False, False, id="sigterm-to-the-main-process-solo"),
        pytest.param(signal.SIGINT, False, True, id="sigint-to-the-main-process-stacked"),
        pytest.param(signal.SIGTERM, True, True, id="sigterm-to-the-group-stacked"),
    ],
)
def test_a_signal_stops_the_batch_cleanly_and_a_rerun_trains_only_the_rest(tmp_path, sig, group, stack):
    err, status = _interrupt(tmp_path, sig, group=group, stack=stack)
    assert status == 128 + sig, err
    assert "Traceback" not in err and "leaked" not in err, err
    line = err.strip().splitlines()[-1]
    found = re.fullmatch(rf"spcl-diag batch: interrupted: (\d+) of {N_RUNS} runs done; run the same command to "
                         r"continue", line)
    assert found, err
    out = tmp_path / "runs"
    done_before = _complete(out)
    assert int(found.group(1)) == len(done_before) < N_RUNS
    assert not list((out / LOCK_DIR).glob("*.lock")), "a lock was left behind"
    assert not list(out.glob(".*.tmp-*")), "a temporary run folder was left behind"
    _resume(tmp_path, done_before)


def test_a_second_ctrl_c_ends_at_once_and_the_rerun_cleans_up(tmp_path):
    err, status = _interrupt(tmp_path, signal.SIGINT, group=True, stack=False, twice=True)
    assert status == 130, err
    _resume(tmp_path, _complete(tmp_path / "runs"), command_line=True)


def test_a_second_signal_during_the_clean_up_exits_at_once_and_deletes_the_locks_held(tmp_path):
    code = f"""
import os, signal
from spcl_diag.batch.interrupt import BatchInterrupted, interruptible
from spcl_diag.batch.locking import RunLock
with interruptible():
    try:
        RunLock({str(tmp_path)!r}, "abc").acquire()
        os.kill(os.getpid(), signal.SIGTERM)
    except BatchInterrupted as first:
        print("first", first.exit_status, flush=True)
        os.kill(os.getpid(), signal.SIGINT)  # while the first is still being handled
        print("not reached", flush=True)
"""
    done = subprocess.run([sys.executable, "-c", code], check=False, env=_env(), capture_output=True, text=True,
                          timeout=PATIENCE)
    assert done.returncode == 130 and done.stdout.split() == ["first", "143"], (done.stdout, done.stderr)
    assert not list((tmp_path / LOCK_DIR).glob("*.lock"))
