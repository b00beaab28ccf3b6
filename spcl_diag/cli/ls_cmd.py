"""``spcl-diag ls RUNS``: one line per run (id, config, status, best epoch, test wF1, wall time, plugins), in grid order (:func:`spcl_diag.list_runs`)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path


class _CsvFlag(argparse.Action):
    """``--csv PATH`` writes the CSV to PATH; a bare ``--csv`` (the old flag) prints it, with a warning."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        if values is None:
            warnings.warn("ls --csv without a path is deprecated; use --format csv to print CSV (--csv PATH writes "
                          "it to a file; the old spelling works until the next release).", FutureWarning, stacklevel=2)
            namespace.format = "csv"
            values = None
        setattr(namespace, self.dest, None if values is None else Path(str(values)))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ls",
        help="list the runs of a folder",
        description="One line per run under RUNS: id, dataset, backbone, modalities, arm, balancing, "
        "seed, status, best epoch, test weighted-F1, wall seconds and the plugins it imported (name=source hash), "
        "sorted by dataset, backbone, modalities, arm and seed. Filters accept several values.",
    )
    parser.add_argument("runs", help="folder of run directories to read")
    parser.add_argument("--status", nargs="+", help="e.g. ok failed")
    parser.add_argument("--arm", "--curriculum", dest="curriculum", nargs="+", help="curriculum arm(s), e.g. spcl none")
    for name in ("dataset", "backbone", "modalities", "balancing", "seed"):
        parser.add_argument(f"--{name}", nargs="+")
    parser.add_argument("--plugins", nargs="+", metavar="NAME[=HASH]",
                        help="runs that imported plugin NAME (any version), or the version whose source hash starts "
                             "with HASH; - for runs without plugins")
    parser.add_argument("--format", choices=("table", "csv"), default="table",
                        help="aligned columns or CSV on standard output (default: %(default)s)")
    parser.add_argument("--csv", nargs="?", default=None, const=None, action=_CsvFlag, metavar="PATH",
                        help="also write the listing as CSV to PATH")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.runs.listing import FILTERS, format_runs, list_runs

    filters = {key: getattr(args, key) for key in FILTERS}
    rows = list_runs(args.runs, filters)
    if args.csv is not None:
        args.csv.write_text(format_runs(rows, as_csv=True) + "\n")
    if not rows and args.format != "csv":
        asked = " ".join(f"--{'arm' if k == 'curriculum' else k} {' '.join(v)}" for k, v in filters.items() if v)
        print(f"no runs under {args.runs}{f' match {asked}' if asked else ''}", file=sys.stderr)
        return 0
    print(format_runs(rows, as_csv=args.format == "csv"))
    if args.csv is not None:
        print(f"wrote {args.csv}", file=sys.stderr)
    return 0
