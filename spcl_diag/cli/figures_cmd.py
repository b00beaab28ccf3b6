"""``spcl-diag figures RUNS --out DIR``: the standard figures of a folder of runs, PNG and PDF."""

from __future__ import annotations

import argparse
import warnings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "figures",
        help="draw the standard figures of a folder of runs",
        description="Accuracy and disparity curves, gradient shares, difficulty trajectories, "
        "difficulty by most confident modality and the tav-vs-pairs gap, as PNG and PDF.",
    )
    parser.add_argument("runs", help="folder of run directories")
    parser.add_argument("--out", default="figures", help="folder for the figure files (default: %(default)s)")
    parser.add_argument("--formats", default="png,pdf", help="comma-separated file formats (default: %(default)s)")
    parser.add_argument("--dpi", type=int, default=120, help="PNG resolution (default: %(default)s)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.plots import standard_figures  # matplotlib only when the command runs
    from spcl_diag.report import save_figures
    from spcl_diag.runs.loading import load_runs

    tables = load_runs(args.runs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        figures = standard_figures(tables)
    for warning in caught:
        print(f"note: {warning.message}")
    written = save_figures(figures, args.out, formats=tuple(args.formats.split(",")), dpi=args.dpi)
    print(f"{len(written)} files in {args.out}")
    return 0
