"""``spcl-diag demo``: the small seeded synthetic batch, with a per-arm summary, figures and a report (:func:`spcl_diag.run_demo`)."""

from __future__ import annotations

import argparse
import os

from spcl_diag.cli.options import add_device_option, add_jobs_option, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run a small seeded batch on the synthetic benchmark (CPU, a few minutes)",
        description="Late fusion, tav, arms none/spcl/random, seeds 0..N-1 on the synthetic benchmark.",
    )
    parser.add_argument("--out", default="demo_runs", help="folder of run directories to write into (default: %(default)s)")
    parser.add_argument("--seeds", type=positive_int, default=3, help="number of seeds (default: %(default)s)")
    add_device_option(parser)
    add_jobs_option(parser, default=2)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.demo import run_demo  # torch, pandas: only when the command runs

    demo = run_demo(args.out, seeds=args.seeds, device=args.device, jobs=args.jobs)
    print(f"\nTest scores per arm over {args.seeds} seeds (mean and sd):")
    print(demo.summary.round(4).to_string())
    print(f"\n{len(demo.tables.results)} runs in {args.out} ({demo.seconds:.0f} s)")
    print(f"Report: {os.path.relpath(demo.report)} (figures in {os.path.relpath(demo.report.with_name('report_figures'))})")
    print("Load the runs with: spcl_diag.load_runs(" + repr(str(args.out)) + ")")
    return 0
