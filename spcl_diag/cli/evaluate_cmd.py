"""``spcl-diag evaluate RUN_DIR``: score a saved model again (another file, masked modalities)."""

from __future__ import annotations

import argparse
import json
import math
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a run's saved model again",
        description="Load RUN_DIR/model.pt and score it on dev and test of the run's dataset, or of "
        "--dataset (a feature file of the same format), optionally with modalities masked. Prints the "
        "metrics and writes RUN_DIR/evaluations/<dataset>[-mask-<m>].json.",
    )
    parser.add_argument("run_dir", help="a run directory with model.pt")
    parser.add_argument("--dataset", default=None, help="feature file to score on (default: the run's dataset)")
    parser.add_argument("--mask", default="", help="modalities to mask, e.g. a,v")
    parser.add_argument("--mask-value", choices=("mean", "zero"), default="mean",
                        help="what replaces a masked modality's input (default: %(default)s, the training mean)")
    parser.add_argument("--device", default="cpu", help="(default: %(default)s)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.evaluation.checkpoint import CheckpointError
    from spcl_diag.runs.scoring import evaluate_run

    try:
        scores = evaluate_run(args.run_dir, dataset=args.dataset, mask=args.mask, mask_value=args.mask_value,
                              device=args.device)
    except (CheckpointError, ValueError) as err:
        print(f"spcl-diag evaluate: error: {err}", file=sys.stderr)
        return 2
    # NaN (a class with no gold and no predicted utterance) is printed as null: valid JSON
    shown = {split: {scope: {k: round(v, 4) if math.isfinite(v) else None for k, v in m.items()}
                     for scope, m in scores[split].items()}
             for split in ("dev", "test") if split in scores}
    print(json.dumps({"run_id": scores["run_id"], "dataset": scores["dataset"], "mask": scores["mask"], **shown},
                     indent=2))
    return 0
