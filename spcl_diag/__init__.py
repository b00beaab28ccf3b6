"""spcl_diag: does a training method really balance the modalities? Measure it, with statistics.

The public API in one place:

>>> from spcl_diag import RunConfig, run, load_runs  # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from spcl_diag.curriculum.self_paced import SelfPacedCurriculum
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.models import register_backbone
from spcl_diag.runs.config import RunConfig
from spcl_diag.runs.config_file import read_config_file, write_config_file
from spcl_diag.runs.execute import RunResult, run
from spcl_diag.runs.loading import RunTables, load_runs
from spcl_diag.runs.recorder import RunRecorder
from spcl_diag.stats.compare import compare

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
    "run",
    "write_config_file",
]
