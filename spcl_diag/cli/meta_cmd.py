"""``spcl-diag meta RUNS --metric test_wf1``: random-effects meta-analysis of an arm's gain over cells."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "meta",
        help="does the arm help in general? random-effects meta-analysis over cells, with a forest plot",
        description=("Per cell (dataset x backbone x modalities) the seed-paired mean difference of --arm against "
                     "--baseline and its variance over seeds, pooled with a random-effects model: the pooled effect "
                     "and its interval, tau^2, I^2, Cochran's Q, the prediction interval for a new cell, a "
                     "leave-one-cell-out table and, with --moderators, a meta-regression."),
    )
    parser.add_argument("runs", help="folder of run directories, or a .csv of results")
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
    parser.add_argument("--figure", type=Path, default=None, help="write the forest plot (PNG/PDF)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.errors import ConfigError
    from spcl_diag.stats.meta_analysis import meta_analysis, meta_table

    try:
        result = meta_analysis(args.runs, args.metric, args.baseline, args.arm, cells=args.cells,
                               moderators=args.moderators, method=args.method,
                               confidence_level=args.confidence_level, arm_column=args.arm_column)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    fmt = {"float_format": lambda v: f"{v:+.4f}"}
    print(meta_table(result).drop(columns="kind").to_string(index=False, **fmt))
    print(result.summary())
    print("leave one cell out:")
    print(result.leave_one_out.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if result.regression is not None:
        print(f"meta-regression (residual tau^2 {result.tau2_residual:.3g}):")
        print(result.regression.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for note in result.notes:
        print(f"note: {note}")
    if args.figure is not None:
        import matplotlib.pyplot as plt

        from spcl_diag.plots.meta_forest import plot_meta_forest

        fig, ax = plt.subplots(figsize=(5.5, 2.2 + 0.32 * result.pooled.k))
        plot_meta_forest(meta_table(result), xlabel=f"{args.metric}: {args.arm} - {args.baseline}", ax=ax)
        fig.savefig(args.figure, dpi=150, bbox_inches="tight")
        plt.close(fig)
        print(f"wrote {args.figure}")
    return 0
