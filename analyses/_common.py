"""Shared command line and helpers of the analysis scripts (public API only)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from spcl_diag import RunTables, load_runs
from spcl_diag.batch import Grid, run_batch
from spcl_diag.stats import multi_metric

FIGURES = Path(__file__).resolve().parents[1] / "figures"
# small enough for a few minutes on two CPU cores; drop these for full-size runs
SMALL: dict[str, object] = {"train.epochs": 12, "model.hidden_dim": 32, "model.feedforward_dim": 64}


def parser(description: str) -> argparse.ArgumentParser:
    """Options every analysis script shares."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--backbones", nargs="+", default=["late_fusion"], help="backbones (default: %(default)s)")
    p.add_argument("--dataset", default="synthetic", help="dataset (default: %(default)s)")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default: %(default)s)")
    p.add_argument("--runs", default="runs/analyses", help="folder of run directories, shared by the scripts")
    p.add_argument("--figures", default=str(FIGURES), help="where figures and tables go (default: figures/)")
    p.add_argument("--jobs", type=int, default=2, help="runs at once (default: %(default)s)")
    p.add_argument("--device", default="auto", help="(default: %(default)s)")
    p.add_argument("--full-size", action="store_true", help="the package defaults instead of the small model")
    return p


def run_grid(args: argparse.Namespace, *, modalities: Sequence[str], arms: Sequence[str]) -> RunTables:
    """Run (or resume) the grid and return the tables of exactly its runs."""
    grid = Grid(dataset=(args.dataset,), backbone=tuple(args.backbones), modalities=tuple(modalities),
                curriculum=tuple(arms), seed=tuple(range(args.seeds)), overrides={} if args.full_size else SMALL)
    summary = run_batch(grid, args.runs, jobs=args.jobs, device=args.device)
    print(summary.line())
    tables = load_runs(args.runs)
    ids = {c.resolved().run_id() for c in grid.configs()}
    results = tables.results[tables.results["run_id"].isin(ids)]
    return RunTables(results, tables.epochs[tables.epochs["run_id"].isin(ids)])


def compare_metrics(results: pd.DataFrame, metrics: Sequence[str], *, by: Sequence[str]) -> pd.DataFrame:
    """``compare`` against ``none`` for each metric (each its own Holm family), stacked."""
    return multi_metric.compare_metrics(results, metrics, baseline="none", by=by, rng=np.random.default_rng(0))


def ci_text(mean: float, low: float, high: float) -> str:
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]" if np.isfinite(mean) else ""


def save(fig: Figure, folder: str | Path, name: str) -> Path:
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"wrote {path}")
    return path


def write_markdown(text: str, folder: str | Path, name: str) -> Path:
    path = Path(folder) / f"{name}.md"
    path.write_text(text)
    print(f"wrote {path}")
    return path
