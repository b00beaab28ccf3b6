"""``spcl-diag rank RUNS --metric test_wf1``: rank arms over cells (Friedman/Nemenyi, Bayesian signed-rank)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rank",
        help="rank arms across cells: Friedman + Nemenyi (autorank), Bayesian signed-rank with ROPE (baycomp)",
        description="Cells are backbone x dataset x modalities; cells with missing arms are dropped and named.",
    )
    parser.add_argument("runs", help="folder of run directories")
    parser.add_argument("--metric", default="test_wf1", help="metric column (default: %(default)s)")
    parser.add_argument("--arm-column", default="curriculum", help="(default: %(default)s)")
    parser.add_argument("--rope", type=float, default=0.01, help="region of practical equivalence (default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=0.05, help="(default: %(default)s)")
    parser.add_argument("--rng-seed", type=int, default=0, help="(default: %(default)s)")
    parser.add_argument("--figure", type=Path, default=None, help="write the critical-difference diagram (PNG/PDF)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import numpy as np

    from spcl_diag.errors import ConfigError
    from spcl_diag.stats.ranking import rank_arms, ranking_table
    from spcl_diag.stats.tables import format_table

    try:
        ranking = rank_arms(args.runs, args.metric, rng=np.random.default_rng(args.rng_seed), arm_column=args.arm_column,
                            rope=args.rope, alpha=args.alpha)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    print(f"{len(ranking.scores)} cells; mean ranks (1 = best): "
          + ", ".join(f"{arm} {rank:.2f}" for arm, rank in ranking.mean_ranks.items()))
    cd = ranking.critical_difference
    print(f"{ranking.method}: {ranking.verdict}" + (f"; critical difference = {cd:.3g}" if np.isfinite(cd) else ""))
    print(format_table(ranking_table(ranking)))
    for note in ranking.notes:
        print(f"note: {note}")
    if args.figure is not None:
        import matplotlib.pyplot as plt

        from spcl_diag.plots.ranking import cd_diagram

        fig, ax = plt.subplots(figsize=(6.0, 2.4))
        cd_diagram(ranking, ax=ax)
        fig.savefig(args.figure, dpi=110, bbox_inches="tight")
        plt.close(fig)
        print(f"wrote {args.figure}")
    return 0
