"""``spcl-diag meta RUNS --metric test_wf1``: random-effects meta-analysis of an arm's gain over cells (:func:`spcl_diag.meta_analysis`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from spcl_diag.cli.options import add_figure_options, save_figure


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "meta",
        help="does the arm help in general? random-effects meta-analysis over cells, with a forest plot",
        description=("Per cell (dataset x backbone x modalities) the seed-paired mean difference of --arm against "
                     "--baseline and its variance over seeds, pooled with a random-effects model: the pooled effect "
                     "and its interval, tau^2, I^2, Cochran's Q, the prediction interval for a new cell, a "
                     "leave-one-cell-out table and, with --moderators, a meta-regression."),
    )
    parser.add_argument("runs", help="folder of run directories to read, or a .csv of results")
    parser.add_argument("--metric", default="test_wf1", help="metric column (default: %(default)s)")
    parser.add_argument("--baseline", default="none", help="(default: %(default)s)")
    parser.add_argument("--arm", default="spcl", help="(default: %(default)s)")
    parser.add_argument("--arm-column", default="curriculum", help="(default: %(default)s)")
    parser.add_argument("--cells", nargs="+", default=["dataset", "backbone", "modalities"],
                        help="columns that define a cell (default: %(default)s)")
    parser.add_argument("--moderators", nargs="*", default=[],
                        help="meta-regression on cell columns (dummy-coded) or numeric result columns averaged "
                             "over the baseline's runs of each cell, e.g. backbone test_acc_t")
    parser.add_argument("--method", choices=("dl", "pm"), default="dl",
                        help="tau^2 estimator: DerSimonian-Laird or Paule-Mandel (default: %(default)s)")
    parser.add_argument("--confidence-level", type=float, default=0.95, help="(default: %(default)s)")
    parser.add_argument("--figure", type=Path, default=None, metavar="PATH",
                        help="write the forest plot to PATH (its suffix: png, pdf, svg)")
    add_figure_options(parser)
    parser.set_defaults(handler=handle, user_errors=(ValueError,))  # a missing metric, column or arm


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.api import meta_analysis

    result = meta_analysis(args.runs, args.metric, args.baseline, args.arm, cells=args.cells,
                           moderators=args.moderators, method=args.method, confidence_level=args.confidence_level,
                           arm_column=args.arm_column)
    fmt = {"float_format": lambda v: f"{v:+.4f}"}
    print(result.table().drop(columns="kind").to_string(index=False, **fmt))
    print(result.summary())
    print("leave one cell out:")
    print(result.leave_one_out.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if result.regression is not None:
        print(f"meta-regression (residual tau^2 {result.tau2_residual:.3g}):")
        print(result.regression.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for note in result.notes:
        print(f"note: {note}")
    if args.figure is not None:
        print(f"wrote {save_figure(result.figure(), args.figure, dpi=args.dpi)}")
    return 0
