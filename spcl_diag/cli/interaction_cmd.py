"""``spcl-diag interaction RUNS --metric test_wf1``: the 2 x 2 interaction contrast per group, seed by seed."""

from __future__ import annotations

import argparse
from pathlib import Path

from spcl_diag.cli.options import add_rng_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "interaction",
        help="does factor a's effect depend on factor b? The interaction contrast of a 2 x 2 grid per group",
        description=(
            "Per group and paired seed: (y(a1,b1) - y(a0,b1)) - (y(a1,b0) - y(a0,b0)); its mean with a t interval, a "
            "paired test of the two effects, Holm-corrected over the groups, and a verdict in compare()'s words."
        ),
    )
    parser.add_argument("runs", help="folder of run directories to read, or a results .csv/.tsv with one row per run")
    parser.add_argument("--metric", default="test_wf1", help="metric column (default: %(default)s)")
    parser.add_argument("--a", nargs=3, default=("curriculum", "none", "spcl"), metavar=("COLUMN", "LEVEL0", "LEVEL1"),
                        help="the factor whose effect is contrasted (default: curriculum none spcl)")
    parser.add_argument("--b", nargs=3, default=("balancing", "none", "ogm-ge"), metavar=("COLUMN", "LEVEL0", "LEVEL1"),
                        help="the factor it may depend on (default: balancing none ogm-ge)")
    parser.add_argument("--by", nargs="*", default=["dataset", "backbone", "modalities"],
                        help="grouping columns; the groups are one correction family (default: %(default)s)")
    parser.add_argument("--pair-on", default="seed", help="column that pairs the four cells (default: %(default)s)")
    parser.add_argument("--test", choices=("t", "wilcoxon", "permutation"), default="t", help="(default: %(default)s)")
    parser.add_argument("--correction", choices=("holm", "bh", "bonferroni", "none"), default="holm",
                        help="(default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=0.05, help="(default: %(default)s)")
    add_rng_option(parser)
    parser.add_argument("--csv", type=Path, default=None, metavar="PATH", help="write the full table as CSV to PATH")
    parser.set_defaults(handler=handle, user_errors=(ValueError,))  # a missing metric, column or level


def handle(args: argparse.Namespace) -> int:
    import numpy as np

    from spcl_diag.stats.interaction_contrast import interaction
    from spcl_diag.stats.tables import format_table

    table = interaction(args.runs, args.metric, a=tuple(args.a), b=tuple(args.b), rng=np.random.default_rng(args.rng),
                        by=tuple(args.by), pair_on=args.pair_on, test=args.test, alpha=args.alpha,
                        correction=args.correction)
    groups = [c for c in args.by if c in table.columns]
    print(format_table(table, columns=[*groups, "n_seeds", "effect_a_at_b0", "effect_a_at_b1", "interaction", "ci_low",
                                       "ci_high", "p", "p_adjusted", "min_p"]))
    for row in table.to_dict("records"):
        where = "/".join(str(row[c]) for c in groups) or "all runs"
        note = f" [{row['note']}]" if isinstance(row["note"], str) and row["note"] else ""
        print(f"{where} {row['a']} x {row['b']}: {row['verdict']}{note}")
    if args.csv is not None:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0
