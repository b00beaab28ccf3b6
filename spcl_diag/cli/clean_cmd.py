"""``spcl-diag clean RUNS [--yes]``: list, then remove, the run folders no batch will use again (:func:`spcl_diag.clean_runs`)."""

from __future__ import annotations

import argparse

KINDS = ("failed", "stale", "set-aside", "old-plugin", "temporary")  # spcl_diag.runs.cleaning.CLEAN_KINDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "clean",
        help="list (and with --yes remove) failed, stale, set-aside, old-plugin-version and temporary run folders",
        description="Lists the folders under RUNS that no batch will use again: recorded failures, stale folders, "
                    "the <id>.failed-<n> and <id>.stale-<n> folders a batch set aside, finished runs of an earlier "
                    "version of their plugin's source, and half-written temporaries of processes that are gone. "
                    "Removes them only with --yes. Run it while no batch on another machine writes into RUNS.",
    )
    parser.add_argument("runs", help="folder of run directories to read")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS),
                        help="what to look for (default: all)")
    parser.add_argument("--yes", dest="remove", action="store_true", help="remove what is listed")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.runs.cleaning import clean_runs

    result = clean_runs(args.runs, kinds=args.kinds, remove=args.remove)
    if result.leftovers:
        print(result.table())
    print(result.line())
    return 0
