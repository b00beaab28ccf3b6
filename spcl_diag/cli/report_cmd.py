"""``spcl-diag report RUNS``: a self-contained Markdown report of a folder of runs."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write a Markdown report (comparisons, figures, inventory, grid) of a folder of runs",
        description="Writes REPORT.md and its figures in REPORT_figures/ beside it.",
    )
    parser.add_argument("runs", help="folder of run directories")
    parser.add_argument("--out", default=None, help="report file (default: RUNS/report.md)")
    parser.add_argument("--baseline", default="none", help="arm the others are compared with (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the statistics' random generator (default: %(default)s)")
    parser.add_argument("--published", default=None,
                        help="published numbers for the reproduction section (default: the shipped table)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.report import write_report  # matplotlib only when the command runs

    path = write_report(args.runs, args.out, baseline=args.baseline, seed=args.seed, published=args.published)
    print(f"report written to {path}")
    return 0
