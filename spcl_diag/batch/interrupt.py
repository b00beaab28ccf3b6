"""Stopping a batch on SIGINT or SIGTERM: one clean stop, and a second signal that ends at once.

A batch (:func:`~spcl_diag.batch.runner.run_batch`) runs inside :func:`interruptible`. The
first SIGINT (Ctrl-C) or SIGTERM (``kill``, ``timeout``, a job scheduler) raises
:class:`BatchInterrupted` in the main thread, wherever it is: a run training in this process
unwinds (its lock is released and its temporary folder removed, :mod:`~spcl_diag.batch.locking`),
and each executor stops its workers on the way out (a process pool sends them SIGTERM, a
cluster cancels its jobs). Runs finished before the signal stay finished; an unfinished one
is never published, so it counts as not done. The batch then raises :class:`BatchInterrupted`
with the line the command prints, and the command exits ``128 + signal`` (130 for SIGINT,
143 for SIGTERM), as a shell does.

A second signal while the first is being handled ends the process at once: the worker
processes of this process are killed, the locks this process holds are deleted, and the
process exits with the same status. What a killed worker held is cleaned up by the next
batch (its lock names a dead process; its temporary folder is removed under the lock).

Worker processes of the process pool follow :func:`worker_signals`: they ignore SIGINT (a
terminal sends Ctrl-C to the whole process group; the main process decides) and unwind
their run on SIGTERM, then exit; a further SIGTERM does not cut the unwinding short (the
main process kills a worker that takes too long).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from spcl_diag.batch.locking import release_held_locks

SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)

_requested: list[int] = []  # the signal that stopped this process's batch, if any
_on_hard_exit: list[Callable[[], None]] = []  # what a second signal still does before exiting


class BatchInterrupted(KeyboardInterrupt):
    """A batch stopped by a signal; ``str()`` is the line to print, ``exit_status`` is 128 + signal.

    A subclass of :class:`KeyboardInterrupt`, so that code which stops on Ctrl-C stops on
    it too, and ``except Exception`` (a run recording its failure) never swallows it.
    """

    def __init__(self, signum: int, message: str = "") -> None:
        self.signum = signum
        super().__init__(message or f"interrupted by {signal.Signals(signum).name}")

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


def requested() -> int | None:
    """The signal that has interrupted the batch of this process, or None."""
    return _requested[0] if _requested else None


@contextmanager
def interruptible() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM stop the batch (see the module docstring).

    Outside the main thread (signals reach only the main thread) it changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    _requested.clear()
    for s in SIGNALS:
        signal.signal(s, _stop)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _requested.clear()


@contextmanager
def on_hard_exit(action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` (e.g. cancel cluster jobs) if a second signal ends the process within the block."""
    _on_hard_exit.append(action)
    try:
        yield
    finally:
        _on_hard_exit.remove(action)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (they are delivered after the block), e.g. while workers start.

    A process started within the block inherits the blocked signals, so it cannot be
    interrupted before it has installed its own handlers (:func:`worker_signals`).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def worker_signals() -> None:
    """In a worker process: ignore SIGINT, unwind the current run on SIGTERM; then unblock both."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


_working: list[bool] = []  # True while a worker executes a task


@contextmanager
def working() -> Iterator[None]:
    """In a worker: mark a task as running, so that SIGTERM unwinds it instead of exiting at once."""
    _working.append(True)
    try:
        yield
    finally:
        _working.pop()


def _stop(signum: int, frame: FrameType | None) -> None:
    if _requested:
        _exit_now(signum)
    _requested.append(signum)
    raise BatchInterrupted(signum)


def _stop_worker(signum: int, frame: FrameType | None) -> None:
    if _requested:  # already unwinding (the group's signal, then the main process's): let it finish
        return
    if not _working:
        _exit_now(signum)
    _requested.append(signum)
    raise BatchInterrupted(signum)


def _exit_now(signum: int) -> None:
    for child in mp.active_children():
        child.kill()
    for action in _on_hard_exit:
        try:
            action()
        except Exception:  # noqa: BLE001, S110 - exiting anyway; nothing left to report to
            pass
    release_held_locks()
    os._exit(128 + signum)
