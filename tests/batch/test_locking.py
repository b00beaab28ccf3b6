"""Run locks: exclusive, broken when their owner is dead, cleaning the owner's leftovers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

from spcl_diag.batch.locking import RunLock, is_stale, remove_leftover_temporaries


def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_lock(path, *, host: str, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": host, "pid": pid, "time": time.time()}))


def test_second_holder_waits_for_release(tmp_path):
    order = []
    first = RunLock(tmp_path, "r1", poll=0.01)
    first.acquire()

    def second() -> None:
        with RunLock(tmp_path, "r1", poll=0.01):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.2)
    order.append("first releases")
    first.release()
    thread.join(5)
    assert order == ["first releases", "second"]
    assert not first.path.exists()


def count_waits(monkeypatch) -> list[str]:
    """Record every time a lock found held by a live owner (and so polled again), instead of timing it."""
    waits: list[str] = []
    break_if_stale = RunLock._break_if_stale

    def recording(self) -> bool:
        broken = break_if_stale(self)
        if not broken:
            waits.append(self.path.name)
        return broken

    monkeypatch.setattr(RunLock, "_break_if_stale", recording)
    return waits


def test_lock_of_a_dead_local_process_is_broken(tmp_path, monkeypatch):
    lock = RunLock(tmp_path, "r2", poll=0.01)
    write_lock(lock.path, host=socket.gethostname(), pid=dead_pid())
    assert is_stale(lock.path, stale_after=3600)
    waits = count_waits(monkeypatch)
    with lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    assert waits == [], "the lock of a dead process was waited on instead of broken at once"


def test_lock_of_a_live_process_is_kept_until_it_goes_silent(tmp_path):
    lock_path = tmp_path / ".locks" / "r3.lock"
    write_lock(lock_path, host=socket.gethostname(), pid=os.getppid())
    assert not is_stale(lock_path, stale_after=3600)
    write_lock(lock_path, host="another-node", pid=1)
    assert not is_stale(lock_path, stale_after=3600)
    old = time.time() - 7200
    os.utime(lock_path, (old, old))  # no heartbeat for two hours
    assert is_stale(lock_path, stale_after=3600)


def test_leftover_temporaries_of_other_processes_are_removed(tmp_path):
    theirs = tmp_path / f".r4.tmp-{dead_pid()}"
    ours = tmp_path / f".r4.tmp-{os.getpid()}"
    other_run = tmp_path / ".r5.tmp-1"
    for folder in (theirs, ours, other_run):
        folder.mkdir()
        (folder / "config.json").write_text("{}")
    assert remove_leftover_temporaries(tmp_path, "r4") == [theirs]
    assert ours.exists() and other_run.exists()
