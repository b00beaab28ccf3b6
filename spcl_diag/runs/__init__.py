"""One run's lifecycle and a folder of runs: train, read back, list, clean, score again.

The names are imported on first use (PEP 562), so importing one light module of the package
(``spcl_diag.runs.listing``) does not import torch.

>>> from spcl_diag.runs import run, load_runs, list_runs  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spcl_diag._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "RunResult": "spcl_diag.runs.execute",
    "run": "spcl_diag.runs.execute",
    "run_stack": "spcl_diag.runs.stack",
    "RunTables": "spcl_diag.runs.loading",
    "load_difficulty": "spcl_diag.runs.loading",
    "load_predictions": "spcl_diag.runs.loading",
    "load_runs": "spcl_diag.runs.loading",
    "RunRecorder": "spcl_diag.runs.recorder",
    "list_runs": "spcl_diag.runs.listing",
    "CleanResult": "spcl_diag.runs.cleaning",
    "clean_runs": "spcl_diag.runs.cleaning",
    "evaluate_run": "spcl_diag.runs.scoring",
    "probe_run": "spcl_diag.runs.scoring",
    "PerClassTables": "spcl_diag.runs.per_class",
    "per_class_tables": "spcl_diag.runs.per_class",
}

if TYPE_CHECKING:  # pragma: no cover
    from spcl_diag.runs.cleaning import CleanResult, clean_runs
    from spcl_diag.runs.execute import RunResult, run
    from spcl_diag.runs.listing import list_runs
    from spcl_diag.runs.loading import RunTables, load_difficulty, load_predictions, load_runs
    from spcl_diag.runs.per_class import PerClassTables, per_class_tables
    from spcl_diag.runs.recorder import RunRecorder
    from spcl_diag.runs.scoring import evaluate_run, probe_run
    from spcl_diag.runs.stack import run_stack


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)


__all__ = [
    "CleanResult",
    "PerClassTables",
    "RunRecorder",
    "RunResult",
    "RunTables",
    "clean_runs",
    "evaluate_run",
    "list_runs",
    "load_difficulty",
    "load_predictions",
    "load_runs",
    "per_class_tables",
    "probe_run",
    "run",
    "run_stack",
]
