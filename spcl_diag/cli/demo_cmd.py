"""``spcl-diag demo``: the small seeded synthetic batch, with a per-arm summary, figures and a report."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run a small seeded batch on the synthetic benchmark (CPU, a few minutes)",
        description="Late fusion, tav, arms none/spcl/random, seeds 0..N-1 on the synthetic benchmark.",
    )
    parser.add_argument("--out", default="demo_runs", help="folder of run directories (default: %(default)s)")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="(default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once in worker processes (default: %(default)s)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.demo import arm_summary, run_demo  # torch, pandas: only when the command runs

    started = time.perf_counter()
    tables = run_demo(args.out, seeds=args.seeds, device=args.device, jobs=args.jobs)
    summary = arm_summary(tables.results)
    print(f"\nTest scores per arm over {args.seeds} seeds (mean and sd):")
    print(summary.round(4).to_string())
    print(f"\n{len(tables.results)} runs in {Path(args.out).resolve()} ({time.perf_counter() - started:.0f} s)")
    print(f"Report: {Path(args.out) / 'report.md'} (figures in {Path(args.out) / 'report_figures'})")
    print("Load the runs with: spcl_diag.load_runs(" + repr(str(args.out)) + ")")
    return 0
