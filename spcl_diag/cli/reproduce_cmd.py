"""``spcl-diag reproduce RUNS``: our seeds against published numbers, cell by cell (:func:`spcl_diag.reproduce`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def name_pair(text: str) -> tuple[str, str]:
    """argparse type: ``OURS=PUBLISHED``, a run's dataset and the published table's name for it."""
    ours, sep, theirs = text.partition("=")
    if not sep or not ours or not theirs:
        raise argparse.ArgumentTypeError(f"must look like OURS=PUBLISHED (e.g. IEMOCAP_features.pkl=IEMOCAP); got {text!r}")
    return ours, theirs


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reproduce",
        help="compare runs with published numbers (mean, prediction interval, two-sample t test, seeds needed)",
        description=(
            "For every cell (backbone, dataset, modalities, arm) that the published table covers: our mean over "
            "seeds with its 95%% interval, the 95%% prediction interval of a published run (or mean of n_runs runs), "
            "a two-sample t test Holm-corrected over the cells, and the seeds that would resolve a gap of that size. "
            "The built-in semi-synthetic benchmarks are not comparable to published numbers."
        ),
    )
    parser.add_argument("runs", help="folder of run directories to read")
    parser.add_argument("--published", type=Path, default=None,
                        help="CSV with backbone,dataset,modalities,arm,metric,value,source and optionally n_runs, unit "
                             "(percent or fraction) (default: the shipped table)")
    parser.add_argument("--dataset-name", dest="dataset_names", action="append", default=[], metavar="OURS=PUBLISHED", type=name_pair,
                        help="map a run's dataset to the published name, e.g. /data/IEMOCAP_features.pkl=IEMOCAP")
    parser.add_argument("--csv", type=Path, default=None, metavar="PATH", help="write the table as CSV to PATH")
    parser.set_defaults(handler=handle, user_errors=(ValueError,))  # a published table without a column, ...


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.stats.reproduction import reproduce
    from spcl_diag.stats.tables import format_table

    table = reproduce(args.runs, args.published, dataset_names=dict(args.dataset_names))
    if table.empty:
        print("no run cell is covered by the published table (built-in benchmarks never are; "
              "map real feature files with --dataset-name)")
        return 0
    shown = table[["backbone", "dataset", "modalities", "arm", "metric", "published", "n_runs", "n_seeds", "mean",
                   "pi_low", "pi_high", "p", "p_adjusted", "seeds_to_resolve"]]
    print(format_table(shown))
    for row in table.itertuples(index=False):
        note = f" [{row.note}]" if row.note else ""
        print(f"{row.backbone}/{row.dataset}/{row.modalities}/{row.arm} {row.metric}: {row.verdict}{note} - {row.source}")
    if args.csv is not None:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0
