"""``spcl-diag rank RUNS --metric test_wf1``: rank arms over cells (Friedman/Nemenyi, Bayesian signed-rank; :func:`spcl_diag.rank_arms`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from spcl_diag.cli.options import add_figure_options, add_rng_option, positive_float, save_figure


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rank",
        help="rank arms across cells: Friedman + Nemenyi (autorank), Bayesian signed-rank with ROPE (baycomp)",
        description="Cells are backbone x dataset x modalities; cells with missing arms are dropped and named.",
    )
    parser.add_argument("runs", help="folder of run directories to read")
    parser.add_argument("--metric", default="test_wf1", help="metric column (default: %(default)s)")
    parser.add_argument("--arm-column", default="curriculum", help="(default: %(default)s)")
    parser.add_argument("--rope", type=positive_float, default=0.01, help="region of practical equivalence (default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=0.05, help="(default: %(default)s)")
    add_rng_option(parser)
    parser.add_argument("--figure", type=Path, default=None, metavar="PATH",
                        help="write the critical-difference diagram to PATH (its suffix: png, pdf, svg)")
    add_figure_options(parser)
    parser.set_defaults(handler=handle, user_errors=(ValueError,))  # a missing metric or column


def handle(args: argparse.Namespace) -> int:
    import numpy as np

    from spcl_diag.api import rank_arms
    from spcl_diag.stats.tables import format_table

    ranking = rank_arms(args.runs, args.metric, rng=np.random.default_rng(args.rng), arm_column=args.arm_column,
                        rope=args.rope, alpha=args.alpha)
    print(f"{len(ranking.scores)} cells; mean ranks (1 = best): "
          + ", ".join(f"{arm} {rank:.2f}" for arm, rank in ranking.mean_ranks.items()))
    cd = ranking.critical_difference
    print(f"{ranking.method}: {ranking.verdict}" + (f"; critical difference = {cd:.3g}" if np.isfinite(cd) else ""))
    print(format_table(ranking.table()))
    for note in ranking.notes:
        print(f"note: {note}")
    if args.figure is not None:
        print(f"wrote {save_figure(ranking.figure(), args.figure, dpi=args.dpi)}")
    return 0
