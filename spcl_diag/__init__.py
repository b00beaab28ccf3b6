"""spcl_diag: does a training method really balance the modalities? Measure it, with statistics.

The public API in one place:

>>> from spcl_diag import RunConfig, run, load_runs  # doctest: +SKIP

The names are imported on first use (PEP 562), so ``import spcl_diag`` and the
``spcl-diag`` command's help start without torch, pandas or scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from spcl_diag._version import __version__

_EXPORTS: dict[str, str] = {
    "ConversationDataset": "spcl_diag.data.dataset",
    "RunRecorder": "spcl_diag.runs.recorder",
    "SelfPacedCurriculum": "spcl_diag.curriculum.self_paced",
    "read_config_file": "spcl_diag.config.file",
    "write_config_file": "spcl_diag.config.file",
    "register_backbone": "spcl_diag.models",
    "register_balancing": "spcl_diag.train.balancing",
    "RunConfig": "spcl_diag.config.schema",
    "RunResult": "spcl_diag.runs.execute",
    "run": "spcl_diag.runs.execute",
    "run_stack": "spcl_diag.runs.stack",
    "RunTables": "spcl_diag.runs.loading",
    "load_runs": "spcl_diag.runs.loading",
    "compare": "spcl_diag.stats.comparison",
    "reproduce": "spcl_diag.stats.reproduction",
}

if TYPE_CHECKING:  # pragma: no cover
    from spcl_diag.config.file import read_config_file, write_config_file
    from spcl_diag.config.schema import RunConfig
    from spcl_diag.curriculum.self_paced import SelfPacedCurriculum
    from spcl_diag.data.dataset import ConversationDataset
    from spcl_diag.models import register_backbone
    from spcl_diag.runs.execute import RunResult, run
    from spcl_diag.runs.loading import RunTables, load_runs
    from spcl_diag.runs.recorder import RunRecorder
    from spcl_diag.runs.stack import run_stack
    from spcl_diag.stats.comparison import compare
    from spcl_diag.stats.reproduction import reproduce
    from spcl_diag.train.balancing import register_balancing


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'spcl_diag' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "ConversationDataset",
    "RunConfig",
    "RunRecorder",
    "RunResult",
    "RunTables",
    "SelfPacedCurriculum",
    "__version__",
    "compare",
    "load_runs",
    "read_config_file",
    "register_backbone",
    "register_balancing",
    "reproduce",
    "run",
    "run_stack",
    "write_config_file",
]
