"""A process-pool worker function that dies (like a kill -9) once, after finishing its run.

Copied by the test to a folder on ``sys.path``, so that the spawned workers import it by name.
"""

from __future__ import annotations

import os
from pathlib import Path

from spcl_diag.batch import executors


def execute_then_die_once(task):
    outcome = executors.execute_task(task)
    marker = Path(task.out_dir) / "died-once"
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return outcome
    os.close(fd)
    os._exit(1)  # the run is complete on disk; its result never reaches the parent
