"""spcl_diag: does a training method really balance the modalities? Measure it, with statistics.

The public API in one place:

>>> from spcl_diag import RunConfig, run, load_runs  # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from spcl_diag.runs.config import RunConfig
from spcl_diag.runs.execute import RunResult, run
from spcl_diag.runs.loading import RunTables, load_runs
from spcl_diag.stats.compare import compare
from spcl_diag.stats.reproduction import reproduce

__all__ = ["RunConfig", "RunResult", "RunTables", "__version__", "compare", "load_runs", "reproduce", "run"]
