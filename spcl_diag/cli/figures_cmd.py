"""``spcl-diag figures RUNS --out DIR``: the standard figures of a folder of runs, PNG and PDF."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "figures",
        help="draw the standard figures of a folder of runs",
        description="Accuracy and disparity curves, gradient shares, difficulty trajectories, "
        "difficulty by most confident modality, the tav-vs-pairs gap, confusion matrices, the aggregate, the forest "
        "plots of the comparisons with the baseline and the critical-difference diagram: the figures of "
        "`spcl-diag report`, as PNG and PDF.",
    )
    parser.add_argument("runs", help="folder of run directories")
    parser.add_argument("--out", default="figures", help="folder for the figure files (default: %(default)s)")
    parser.add_argument("--formats", default="png,pdf", help="comma-separated file formats (default: %(default)s)")
    parser.add_argument("--dpi", type=int, default=120, help="PNG resolution (default: %(default)s)")
    parser.add_argument("--baseline", default="none", help="arm of the forest plots' comparisons (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the statistics' random generator, as in "
                        "`report` (default: %(default)s)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.report import (  # matplotlib only when the command runs
        report_figures,
        save_figures,
    )
    from spcl_diag.runs.loading import load_runs

    tables = load_runs(args.runs)
    figures, left_out = report_figures(tables, baseline=args.baseline, seed=args.seed)
    for message in left_out:
        print(f"note: {message}")
    written = save_figures(figures, args.out, formats=tuple(args.formats.split(",")), dpi=args.dpi)
    print(f"{len(written)} files in {args.out}")
    return 0
