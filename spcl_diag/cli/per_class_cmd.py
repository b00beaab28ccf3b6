"""``spcl-diag per-class RUN_DIR``: per-class Shapley contribution, unimodal accuracy and kept fraction."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "per-class",
        help="per class and modality: Shapley contribution, unimodal accuracy, fraction kept by the curriculum",
        description="Reads one finished run's predictions.npz and difficulty.npz.",
    )
    parser.add_argument("run_dir", help="one run directory")
    parser.add_argument("--csv", type=Path, default=None, help="prefix of the two CSV tables (PREFIX_contribution.csv, PREFIX_kept.csv)")
    parser.add_argument("--figure", type=Path, default=None, help="write the heatmap figure (PNG/PDF)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.runs.per_class import per_class_tables

    tables = per_class_tables(args.run_dir)
    wide = tables.contribution.pivot_table(index=["class", "class_name", "n"], columns=["metric", "modality"], values="value")
    print(wide.round(3).to_string())
    first = tables.kept[tables.kept["epoch"] == tables.kept["epoch"].min()]
    print("\nfraction kept at the first epoch: " + ", ".join(f"{r.class_name} {r.kept_fraction:.2f}" for r in first.itertuples()))
    if args.csv is not None:
        tables.contribution.to_csv(f"{args.csv}_contribution.csv", index=False)
        tables.kept.to_csv(f"{args.csv}_kept.csv", index=False)
        print(f"wrote {args.csv}_contribution.csv and {args.csv}_kept.csv")
    if args.figure is not None:
        import matplotlib.pyplot as plt

        from spcl_diag.plots.per_class import per_class_figure

        fig = per_class_figure(tables.contribution, tables.kept)
        fig.savefig(args.figure, dpi=110, bbox_inches="tight")
        plt.close(fig)
        print(f"wrote {args.figure}")
    return 0
