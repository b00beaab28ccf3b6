"""``spcl-diag compare``: every arm against the baseline, seed-paired, as one table (:func:`spcl_diag.compare`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from spcl_diag.cli.options import add_rng_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare arms with a baseline over seeds",
        description=(
            "Pair runs by seed and compare every arm with the baseline per group: means with "
            "intervals, paired test with Holm/BH correction and its minimum attainable p, "
            "effect sizes, ASO, and a verdict."
        ),
    )
    parser.add_argument("runs", help="folder of run directories, or a results .csv/.tsv with one row per seed and arm")
    parser.add_argument("--metric", required=True, help="metric column, e.g. test_wf1, test_disparity_ratio_t")
    parser.add_argument("--baseline", default="none", help="baseline arm (default: %(default)s)")
    parser.add_argument("--arms", nargs="+", default=None, help="arms to compare (default: all others)")
    parser.add_argument("--by", nargs="*", default=None,
                        help="grouping columns (default: dataset backbone modalities, and balancing where runs vary in it)")
    parser.add_argument("--arm-column", default="curriculum", help="column naming the arms (default: %(default)s)")
    parser.add_argument("--pair-on", default="seed", help="column that pairs the runs of two arms (default: %(default)s)")
    parser.add_argument("--test", choices=("wilcoxon", "t", "permutation"), default="wilcoxon", help="(default: %(default)s)")
    parser.add_argument("--correction", choices=("holm", "bh", "bonferroni", "none"), default="holm", help="(default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=0.05, help="(default: %(default)s)")
    parser.add_argument("--interval", choices=("t", "percentile", "bca"), default="t", help="(default: %(default)s)")
    parser.add_argument("--confidence-level", type=float, default=0.95,
                        help="coverage of every interval, as the tables state it (default: %(default)s)")
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument("--higher-is-better", dest="higher_is_better", action="store_true", default=None)
    direction.add_argument("--lower-is-better", dest="higher_is_better", action="store_false",
                           help="metric direction (default: the metric's declared direction; an error if it has none)")
    add_rng_option(parser)
    parser.add_argument("--csv", type=Path, default=None, metavar="PATH", help="write the full table as CSV to PATH")
    parser.add_argument("--latex", type=Path, default=None,
                        help="write a booktabs table (<= 7 columns, significance as footnote symbols)")
    parser.add_argument("--markdown", type=Path, default=None, help="write the same table as Markdown")
    parser.add_argument("--digits", type=int, default=3, help="decimals of every number in --latex/--markdown (default: %(default)s)")
    parser.set_defaults(handler=handle, user_errors=(ValueError,))  # a missing metric or column: which, and the valid ones


def handle(args: argparse.Namespace) -> int:
    import numpy as np  # pandas, scipy: only when the command runs

    from spcl_diag.errors import NothingToDoError
    from spcl_diag.stats.comparison import compare
    from spcl_diag.stats.paper_table import to_booktabs, to_markdown
    from spcl_diag.stats.tables import format_table

    table = compare(args.runs, args.metric, baseline=args.baseline, arms=args.arms, by=None if args.by is None else tuple(args.by),
                    rng=np.random.default_rng(args.rng), alpha=args.alpha, correction=args.correction, test=args.test,
                    interval=args.interval, confidence_level=args.confidence_level,
                    higher_is_better=args.higher_is_better, arm_column=args.arm_column, pair_on=args.pair_on)
    if table.empty:
        raise NothingToDoError(f"no arm other than the baseline {args.baseline!r} under {args.runs}; nothing to compare "
                               "(train another arm, or name a baseline that is there with --baseline)")
    print(format_table(table))
    if args.csv is not None:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    if args.latex is not None:
        args.latex.write_text(to_booktabs(table, digits=args.digits, alpha=args.alpha) + "\n")
        print(f"wrote {args.latex}")
    if args.markdown is not None:
        args.markdown.write_text(to_markdown(table, digits=args.digits, alpha=args.alpha) + "\n")
        print(f"wrote {args.markdown}")
    return 0
