"""spcl_diag: does a training method really balance the modalities? Measure it, with statistics.

The public API in one place:

>>> from spcl_diag import RunConfig, run, load_runs  # doctest: +SKIP

The names are imported on first use (PEP 562), so ``import spcl_diag`` and the
``spcl-diag`` command's help start without torch, pandas or scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "RunConfig": "spcl_diag.runs.config",
    "RunResult": "spcl_diag.runs.execute",
    "run": "spcl_diag.runs.execute",
    "RunTables": "spcl_diag.runs.loading",
    "load_runs": "spcl_diag.runs.loading",
    "compare": "spcl_diag.stats.compare",
    "reproduce": "spcl_diag.stats.reproduction",
}

if TYPE_CHECKING:  # pragma: no cover
    from spcl_diag.runs.config import RunConfig
    from spcl_diag.runs.execute import RunResult, run
    from spcl_diag.runs.loading import RunTables, load_runs
    from spcl_diag.stats.compare import compare
    from spcl_diag.stats.reproduction import reproduce


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'spcl_diag' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = ["RunConfig", "RunResult", "RunTables", "__version__", "compare", "load_runs", "reproduce", "run"]
