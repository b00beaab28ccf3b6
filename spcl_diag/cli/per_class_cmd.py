"""``spcl-diag per-class RUN_DIR``: per-class Shapley contribution, unimodal accuracy and kept fraction (:func:`spcl_diag.per_class_tables`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from spcl_diag.cli.options import DeprecatedFlag, add_figure_options, save_figure


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "per-class",
        help="per class and modality: Shapley contribution, unimodal accuracy, fraction kept by the curriculum",
        description="Reads one finished run's predictions.npz and difficulty.npz.",
    )
    parser.add_argument("run_dir", help="one run directory")
    parser.add_argument("--csv-prefix", type=Path, default=None, metavar="PREFIX",
                        help="write the two tables as PREFIX_contribution.csv and PREFIX_kept.csv")
    parser.add_argument("--csv", dest="csv_prefix", type=Path, action=DeprecatedFlag, new="--csv-prefix",
                        note=" for per-class (--csv is a file path everywhere; this command writes two files)",
                        help=argparse.SUPPRESS)
    parser.add_argument("--figure", type=Path, default=None, metavar="PATH",
                        help="write the heatmap figure to PATH (its suffix: png, pdf, svg)")
    add_figure_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.api import per_class_tables

    tables = per_class_tables(args.run_dir)
    print(tables.table().round(3).to_string())
    print("\nfraction kept at the first epoch: "
          + ", ".join(f"{r.class_name} {r.kept_fraction:.2f}" for r in tables.first_kept().itertuples()))
    if args.csv_prefix is not None:
        tables.contribution.to_csv(f"{args.csv_prefix}_contribution.csv", index=False)
        tables.kept.to_csv(f"{args.csv_prefix}_kept.csv", index=False)
        print(f"wrote {args.csv_prefix}_contribution.csv and {args.csv_prefix}_kept.csv")
    if args.figure is not None:
        print(f"wrote {save_figure(tables.figure(), args.figure, dpi=args.dpi)}")
    return 0
