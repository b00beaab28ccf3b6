"""Exceptions raised at the package's public boundaries."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from types import FrameType


class DataFormatError(ValueError):
    """A data file or in-memory dataset does not have the documented layout.

    The message names the file (or dataset), the dialogue and the field, and says what was
    expected and what was found. When several problems are found they are all listed.
    """


class ConfigError(ValueError):
    """A run configuration or an override is invalid; the message lists valid choices."""


class RunSetupError(RuntimeError):
    """A run could not start: its data, its output folder or its paired run is not usable.

    Nothing is recorded for such a run, so once the cause is fixed the same command trains
    it (no ``retry_failed`` needed). The message is one line: what, where, what to do.
    """


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the run stops and is recorded as failed.

    ``epoch`` is the 1-based epoch in which it happened.
    """

    def __init__(self, message: str, *, epoch: int) -> None:
        super().__init__(message)
        self.epoch = epoch


class CheckpointError(ValueError):
    """A saved model that cannot be used: another package version, format or dataset."""


class NothingToDoError(ValueError):
    """The input holds nothing the command can work on (no runs, only the baseline arm); says what to add."""


# What ``spcl-diag`` prints as one line (``spcl-diag COMMAND: error: ...``, status 2) instead of a traceback.
USER_ERRORS: tuple[type[Exception], ...] = (
    ConfigError, DataFormatError, RunSetupError, CheckpointError, NothingToDoError,
    FileNotFoundError, PermissionError,
)


def show_warning_one_line(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
    """``warnings.showwarning`` of the command line and its batch workers: one line on stderr,
    ``spcl-diag: warning: ...``, without the package's source line."""
    print(f"spcl-diag: warning: {message}", file=sys.stderr)


class OneAtATimeWarning(UserWarning):
    """Runs asked to train as one stack train one at a time (a backbone or method that cannot be stacked).

    Said once per output folder: a process-pool worker holds it back and the batch says it
    (:mod:`spcl_diag.batch.executors`), so ``--jobs N`` does not print it N times.
    """


def warn_from_caller(message: str, category: type[Warning]) -> None:
    """Warn ``message`` at the first caller outside the package, so that no source line of the package shows."""
    package, level = Path(__file__).resolve().parent, 2
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and Path(frame.f_code.co_filename).resolve().is_relative_to(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
