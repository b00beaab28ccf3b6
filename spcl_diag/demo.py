"""The demo: a small seeded batch on the ``synthetic`` benchmark that runs on a laptop CPU.

Late fusion on ``tav`` with the arms ``none``, ``spcl`` and ``random`` over three seeds;
the model is scaled down (hidden 64, feed-forward 256, 20 epochs) so the nine runs finish
in a few minutes on two CPU cores.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from spcl_diag.runs.config import RunConfig
from spcl_diag.runs.execute import run
from spcl_diag.runs.loading import RunTables, load_runs

DEMO_ARMS: tuple[str, ...] = ("none", "spcl", "random")
DEMO_OVERRIDES: dict[str, object] = {
    "train.epochs": 20,
    "model.hidden_dim": 64,
    "model.feedforward_dim": 256,
}


def demo_configs(seeds: int = 3) -> list[RunConfig]:
    """The demo grid: every arm of :data:`DEMO_ARMS` for seeds ``0..seeds-1`` (spcl first)."""
    base = RunConfig(dataset="synthetic", backbone="late_fusion", modalities="tav").with_overrides(DEMO_OVERRIDES)
    return [base.with_overrides({"curriculum": arm, "seed": seed}) for seed in range(seeds) for arm in DEMO_ARMS]


def run_demo(out_dir: str | Path, *, seeds: int = 3, device: str = "cpu", progress: bool = True) -> RunTables:
    """Run (or resume) the demo grid into ``out_dir`` and return its tables."""
    configs = demo_configs(seeds)
    for config in tqdm(configs, desc="demo runs", disable=not progress):
        run(config, out_dir, device=device)
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
    return summary
