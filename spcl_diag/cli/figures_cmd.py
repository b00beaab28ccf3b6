"""``spcl-diag figures RUNS --out DIR``: the standard figures of a folder of runs (:func:`spcl_diag.write_figures`)."""

from __future__ import annotations

import argparse

from spcl_diag.cli.options import add_figure_options, add_rng_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "figures",
        help="draw the standard figures of a folder of runs",
        description="Accuracy and disparity curves, gradient shares, difficulty trajectories, "
        "difficulty by most confident modality, the tav-vs-pairs gap, confusion matrices, the aggregate, the forest "
        "plots of the comparisons with the baseline and the critical-difference diagram: the figures of "
        "`spcl-diag report`, as PNG and PDF.",
    )
    parser.add_argument("runs", help="folder of run directories to read")
    parser.add_argument("--out", default="figures", help="folder to write the figure files into (default: %(default)s)")
    add_figure_options(parser, formats=True)
    parser.add_argument("--baseline", default="none", help="arm of the forest plots' comparisons (default: %(default)s)")
    add_rng_option(parser, old_seed=True)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.api import write_figures  # matplotlib only when the command runs

    written = write_figures(args.runs, args.out, baseline=args.baseline, rng=args.rng, formats=args.formats,
                            dpi=args.dpi)
    for message in written.left_out:
        print(f"note: {message}")
    print(f"{len(written.files)} files in {written.out}")
    return 0
