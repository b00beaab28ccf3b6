"""spcl_diag: does a training method really balance the modalities? Measure it, with statistics.

The public API in one place:

>>> from spcl_diag import RunConfig, run, load_runs  # doctest: +SKIP

The names are imported on first use (PEP 562), so ``import spcl_diag`` and the
``spcl-diag`` command's help start without torch, pandas or scipy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spcl_diag._lazy import lazy_exports
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
    # the function of each command (spcl_diag.cli.main.PARITY)
    "run_batch": "spcl_diag.batch.runner",
    "plan_batch": "spcl_diag.batch.runner",
    "run_until_decided": "spcl_diag.batch.sequential",
    "tune": "spcl_diag.batch.tune",
    "interaction": "spcl_diag.stats.interaction_contrast",
    "write_figures": "spcl_diag.api",
    "write_report": "spcl_diag.report",
    "rank_arms": "spcl_diag.api",
    "meta_analysis": "spcl_diag.api",
    "per_class_tables": "spcl_diag.api",
    "evaluate_run": "spcl_diag.runs.scoring",
    "probe_run": "spcl_diag.runs.scoring",
    "list_runs": "spcl_diag.runs.listing",
    "clean_runs": "spcl_diag.runs.cleaning",
    "run_demo": "spcl_diag.demo",
    "inspect_data": "spcl_diag.data.inspection",
    "validate_data": "spcl_diag.data.inspection",
    "convert_data": "spcl_diag.data.inspection",
}

if TYPE_CHECKING:  # pragma: no cover
    from spcl_diag.api import meta_analysis, per_class_tables, rank_arms, write_figures
    from spcl_diag.batch.runner import plan_batch, run_batch
    from spcl_diag.batch.sequential import run_until_decided
    from spcl_diag.batch.tune import tune
    from spcl_diag.config.file import read_config_file, write_config_file
    from spcl_diag.config.schema import RunConfig
    from spcl_diag.curriculum.self_paced import SelfPacedCurriculum
    from spcl_diag.data.dataset import ConversationDataset
    from spcl_diag.data.inspection import convert_data, inspect_data, validate_data
    from spcl_diag.demo import run_demo
    from spcl_diag.models import register_backbone
    from spcl_diag.report import write_report
    from spcl_diag.runs.cleaning import clean_runs
    from spcl_diag.runs.execute import RunResult, run
    from spcl_diag.runs.listing import list_runs
    from spcl_diag.runs.loading import RunTables, load_runs
    from spcl_diag.runs.recorder import RunRecorder
    from spcl_diag.runs.scoring import evaluate_run, probe_run
    from spcl_diag.runs.stack import run_stack
    from spcl_diag.stats.comparison import compare
    from spcl_diag.stats.interaction_contrast import interaction
    from spcl_diag.stats.reproduction import reproduce
    from spcl_diag.train.balancing import register_balancing


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)


__all__ = [
    "ConversationDataset",
    "RunConfig",
    "RunRecorder",
    "RunResult",
    "RunTables",
    "SelfPacedCurriculum",
    "__version__",
    "clean_runs",
    "compare",
    "convert_data",
    "evaluate_run",
    "inspect_data",
    "interaction",
    "list_runs",
    "load_runs",
    "meta_analysis",
    "per_class_tables",
    "plan_batch",
    "probe_run",
    "rank_arms",
    "read_config_file",
    "register_backbone",
    "register_balancing",
    "reproduce",
    "run",
    "run_batch",
    "run_demo",
    "run_stack",
    "run_until_decided",
    "tune",
    "validate_data",
    "write_config_file",
    "write_figures",
    "write_report",
]
