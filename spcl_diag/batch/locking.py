"""One lock file per run id, so that no two processes ever train the same run at once.

The lock of run ``<id>`` is ``<runs>/.locks/<id>.lock``, created with
``O_CREAT | O_EXCL`` (atomic on local file systems and on NFSv3+) and holding the owner's
host name and pid. While a run trains, a heartbeat thread touches the file every
``heartbeat`` seconds. A lock is *stale*, and is broken, when

* its owner is on this host and its pid is no longer alive (``kill -9``, out-of-memory), or
* its file has not been touched for ``stale_after`` seconds (an owner on another host that
  died, e.g. a cancelled SLURM job).

Breaking a stale lock is itself guarded by a short-lived ``.break`` file, so two processes
that both find the same stale lock cannot delete each other's fresh one.

Whoever holds the lock of a run also removes that run's leftover temporary directories
(``.<id>.tmp-<pid>``): a crashed writer's half-written run is garbage once nobody else can be
writing it. Releasing a lock removes the holder's own temporary directory of the run too (it
is gone already when the run was published), so a run stopped by an exception or a signal
(:mod:`spcl_diag.batch.interrupt`) leaves nothing half-written behind.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

LOCK_DIR = ".locks"
_HELD: set[RunLock] = set()  # locks held by this process (released at once by release_held_locks)


class RunLock:
    """Exclusive lock on one run id under a runs folder (a context manager).

    Parameters
    ----------
    out_dir
        The folder of run directories.
    run_id
        The run to lock.
    poll
        Seconds between attempts while another live process holds the lock.
    heartbeat
        Seconds between touches of the lock file while it is held.
    stale_after
        A lock file untouched for this many seconds is taken as abandoned.

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> with RunLock(out, "abc123") as lock:
    ...     lock.path.exists()
    True
    >>> RunLock(out, "abc123").path.exists()
    False
    """

    def __init__(
        self,
        out_dir: str | Path,
        run_id: str,
        *,
        poll: float = 0.5,
        heartbeat: float = 30.0,
        stale_after: float = 300.0,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.run_id = run_id
        self.path = self.out_dir / LOCK_DIR / f"{run_id}.lock"
        self.poll = poll
        self.heartbeat = heartbeat
        self.stale_after = stale_after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        """Block until the lock is ours, breaking it if its holder is gone."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        owner = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "time": time.time()})
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._break_if_stale():
                    time.sleep(self.poll)
                continue
            _HELD.add(self)
            with os.fdopen(fd, "w") as f:
                f.write(owner)
            break
        remove_leftover_temporaries(self.out_dir, self.run_id)
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name=f"lock-{self.run_id}", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Stop the heartbeat, remove this process's temporary directory of the run, delete the lock file."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        shutil.rmtree(own_temporary(self.out_dir, self.run_id), ignore_errors=True)
        self.path.unlink(missing_ok=True)
        _HELD.discard(self)

    def __enter__(self) -> RunLock:  # noqa: PYI034 - Self needs Python 3.11
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            try:
                os.utime(self.path)
            except FileNotFoundError:  # broken by someone who judged us stale; nothing to keep alive
                return

    def _break_if_stale(self) -> bool:
        """Remove the lock file if it is stale; True when it was removed (or vanished)."""
        breaker = self.path.with_name(self.path.name + ".break")
        try:
            fd = os.open(breaker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if _age(breaker) > 60:  # a breaker that died between two system calls
                breaker.unlink(missing_ok=True)
            return False
        os.close(fd)
        try:
            if not self.path.exists():
                return True
            if is_stale(self.path, stale_after=self.stale_after):
                self.path.unlink(missing_ok=True)
                return True
            return False
        finally:
            breaker.unlink(missing_ok=True)


def is_stale(lock_path: Path, *, stale_after: float) -> bool:
    """True when the lock's owner is a dead local process or the file is ``stale_after`` old."""
    try:
        owner = json.loads(lock_path.read_text() or "{}")
    except (FileNotFoundError, json.JSONDecodeError):
        owner = {}  # being written right now, or truncated by a crash: judge by age alone
    local = owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int)
    if local and not pid_alive(owner["pid"]):
        return True
    return _age(lock_path) > stale_after


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def release_held_locks() -> None:
    """Release every lock this process holds, at once (a process about to exit without unwinding).

    As :meth:`RunLock.release` does, each run's temporary directory of this process goes first.
    """
    for lock in list(_HELD):
        shutil.rmtree(own_temporary(lock.out_dir, lock.run_id), ignore_errors=True)
        lock.path.unlink(missing_ok=True)
        _HELD.discard(lock)


def clear_dead_owners(out_dir: str | Path) -> None:
    """Delete the locks and temporary run folders of processes of this host that are gone.

    Called after an interrupt has stopped the workers, and when a batch ends: a worker stopped
    between creating a lock (or a temporary folder) and recording it leaves them behind, and
    their owner is dead; a finished run is read back without its lock, so nothing else would.
    """
    out = Path(out_dir)
    for lock in (out / LOCK_DIR).glob("*.lock"):
        try:
            owner = json.loads(lock.read_text() or "{}")
        except (OSError, json.JSONDecodeError):
            continue
        if owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int) and not pid_alive(owner["pid"]):
            lock.unlink(missing_ok=True)
    for tmp in out.glob(".*.tmp-*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


def own_temporary(out_dir: str | Path, run_id: str) -> Path:
    """The temporary directory this process writes run ``run_id`` into (:func:`spcl_diag.runs.directory.temporary_dir`)."""
    return Path(out_dir) / f".{run_id}.tmp-{os.getpid()}"


def remove_leftover_temporaries(out_dir: str | Path, run_id: str) -> list[Path]:
    """Delete ``.<run_id>.tmp-<pid>`` directories of other processes; call only under the lock.

    Returns
    -------
    list of Path
        The directories removed.
    """
    own = own_temporary(out_dir, run_id).name
    removed = []
    for tmp in Path(out_dir).glob(f".{run_id}.tmp-*"):
        if tmp.name != own and tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
