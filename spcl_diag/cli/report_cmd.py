"""``spcl-diag report RUNS``: a self-contained Markdown report of a folder of runs (:func:`spcl_diag.write_report`)."""

from __future__ import annotations

import argparse

from spcl_diag.cli.options import add_figure_options, add_rng_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write a Markdown report (comparisons, figures, inventory, grid) of a folder of runs",
        description="Writes the report file (--out, default RUNS/report.md) and its PNG figures in a folder beside "
                    "it named after the file (report_figures/ for report.md).",
    )
    parser.add_argument("runs", help="folder of run directories to read")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="report file to write (default: RUNS/report.md; figures in FILE's stem + _figures/)")
    parser.add_argument("--baseline", default="none", help="arm the others are compared with (default: %(default)s)")
    add_rng_option(parser, old_seed=True)
    add_figure_options(parser)
    parser.add_argument("--published", default=None,
                        help="published numbers for the reproduction section (default: the shipped table)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.report import write_report  # matplotlib only when the command runs

    path = write_report(args.runs, args.out, baseline=args.baseline, rng=args.rng, dpi=args.dpi,
                        published=args.published)
    print(f"report written to {path}")
    return 0
