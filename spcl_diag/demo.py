"""The demo: a small seeded batch on the ``synthetic`` benchmark that runs on a laptop CPU.

Late fusion on ``tav`` with the arms ``none``, ``spcl`` and ``random`` over three seeds;
the model is scaled down (hidden 64, feed-forward 256, 20 epochs) so the nine runs finish
in a few minutes on two CPU cores. The runs go through :func:`spcl_diag.batch.run_batch`
(so an interrupted demo resumes), and the demo writes the standard figures and a Markdown
report into its folder.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from spcl_diag.batch import Grid, make_executor, run_batch
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


def run_demo(
    out_dir: str | Path, *, seeds: int = 3, device: str = "cpu", jobs: int = 1, progress: bool = True
) -> RunTables:
    """Run (or resume) the demo grid into ``out_dir``, write its report, return its tables.

    The report is ``<out_dir>/report.md`` with its figures in ``<out_dir>/report_figures/``.
    ``jobs > 1`` trains that many runs at once in worker processes.
    """
    executor = make_executor("process", jobs=jobs) if jobs > 1 else make_executor("local")
    run_batch(demo_grid(seeds), out_dir, executor=executor, device=device, progress=progress)
    write_report(out_dir)
    return load_runs(out_dir)


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
