"""``spcl-diag ls RUNS``: one line per run (id, config, status, best epoch, test wF1, wall time)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ls",
        help="list the runs of a folder",
        description="One line per run under RUNS: id, dataset, backbone, modalities, arm, balancing, "
        "seed, status, best epoch, test weighted-F1, wall seconds. Filters accept several values.",
    )
    parser.add_argument("runs", help="folder of run directories")
    parser.add_argument("--status", nargs="+", help="e.g. ok failed")
    parser.add_argument("--arm", "--curriculum", dest="curriculum", nargs="+", help="curriculum arm(s), e.g. spcl none")
    for name in ("dataset", "backbone", "modalities", "balancing", "seed"):
        parser.add_argument(f"--{name}", nargs="+")
    parser.add_argument("--csv", action="store_true", help="print CSV instead of aligned columns")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.runs.listing import FILTERS, format_runs, list_runs

    rows = list_runs(args.runs, {key: getattr(args, key) for key in FILTERS})
    print(format_runs(rows, as_csv=args.csv))
    if not rows and not args.csv:
        print(f"(no runs under {args.runs} match)", file=sys.stderr)
    return 0
