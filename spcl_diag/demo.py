"""The demo: a small seeded batch on the ``synthetic`` benchmark that runs on a laptop CPU.

Late fusion on ``tav`` with the arms ``none``, ``spcl`` and ``random`` over three seeds;
the model is scaled down (hidden 64, feed-forward 256, 20 epochs) so the nine runs finish
in about a minute on two CPU cores. The runs go through :func:`spcl_diag.batch.run_batch`
(so an interrupted demo resumes), and the demo writes the standard figures and a Markdown
report into its folder.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from spcl_diag.batch import Grid, run_batch
from spcl_diag.curriculum.arms import ARMS
from spcl_diag.report import write_report
from spcl_diag.runs.loading import RunTables, load_runs

DEMO_ARMS: tuple[str, ...] = ("none", "spcl", "random")
DEMO_OVERRIDES: dict[str, object] = {
    "train.epochs": 20,
    "model.hidden_dim": 64,
    "model.feedforward_dim": 256,
}


def demo_grid(seeds: int = 3) -> Grid:
    """The demo grid: late fusion on ``tav``, every arm of :data:`DEMO_ARMS`, seeds ``0..seeds-1``."""
    return Grid(
        dataset=("synthetic",), backbone=("late_fusion",), modalities=("tav",), curriculum=DEMO_ARMS,
        seed=tuple(range(seeds)), overrides=DEMO_OVERRIDES,
    )


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` did: the runs' tables, the per-arm summary it prints, the report."""

    tables: RunTables
    summary: pd.DataFrame  # arm_summary(tables.results)
    report: Path  # <out>/report.md, its figures in <out>/report_figures/
    seconds: float  # wall time of the whole demo


def run_demo(
    out: str | Path = "demo_runs", *, seeds: int = 3, device: str = "auto", jobs: int = 1, progress: bool = True
) -> DemoResult:
    """Run (or resume) the demo grid into ``out``, write its report, return its tables and summary.

    The report is ``<out>/report.md`` with its figures in ``<out>/report_figures/``.
    ``jobs > 1`` trains that many runs at once in worker processes.
    """
    started = time.perf_counter()
    run_batch(demo_grid(seeds), out, jobs=jobs, device=device, progress=progress)
    report = write_report(out)
    tables = load_runs(out)
    return DemoResult(tables, arm_summary(tables.results), report, time.perf_counter() - started)


def arm_summary(results: pd.DataFrame, *, metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Mean and standard deviation over seeds of test metrics, one row per arm.

    Columns are ``<metric> mean`` and ``<metric> sd`` for test weighted-F1 and the
    per-modality test accuracies present in ``results``.
    """
    ok = results[results["status"] == "ok"]
    if metrics is None:
        metrics = ("test_wf1", *[c for c in ("test_acc_t", "test_acc_a", "test_acc_v") if c in ok])
    grouped = ok.groupby("curriculum", sort=False)[list(metrics)]
    summary = grouped.agg(["mean", "std"])
    summary.columns = [f"{metric} {'sd' if stat == 'std' else stat}" for metric, stat in summary.columns]
    summary.insert(0, "seeds", grouped.size())
    # baseline first, then the arms in their usual order
    return summary.loc[sorted(summary.index, key=lambda arm: ARMS.index(arm) if arm in ARMS else len(ARMS))]
