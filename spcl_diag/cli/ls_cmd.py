"""``spcl-diag ls RUNS``: one line per run (id, config, status, best epoch, test wF1, wall time), in grid order."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ls",
        help="list the runs of a folder",
        description="One line per run under RUNS: id, dataset, backbone, modalities, arm, balancing, "
        "seed, status, best epoch, test weighted-F1, wall seconds, sorted by dataset, backbone, modalities, "
        "arm and seed. Filters accept several values.",
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

    filters = {key: getattr(args, key) for key in FILTERS}
    rows = list_runs(args.runs, filters)
    if not rows and not args.csv:
        asked = " ".join(f"--{'arm' if k == 'curriculum' else k} {' '.join(v)}" for k, v in filters.items() if v)
        print(f"no runs under {args.runs}{f' match {asked}' if asked else ''}", file=sys.stderr)
        return 0
    print(format_runs(rows, as_csv=args.csv))
    return 0
