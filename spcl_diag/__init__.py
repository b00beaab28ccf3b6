"""spcl_diag: does a training method really balance the modalities? Measure it, with statistics.

The public API in one place:

>>> from spcl_diag import RunConfig, run, load_runs  # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from spcl_diag.runs.config import RunConfig  # noqa: E402
from spcl_diag.runs.execute import RunResult, run  # noqa: E402
from spcl_diag.runs.loading import RunTables, load_runs  # noqa: E402
from spcl_diag.stats.compare import compare  # noqa: E402

__all__ = ["RunConfig", "RunResult", "RunTables", "__version__", "compare", "load_runs", "run"]
