"""``spcl-diag evaluate RUN_DIR``: score a saved model again (another file, masked modalities; :func:`spcl_diag.evaluate_run`)."""

from __future__ import annotations

import argparse
import json
import math

from spcl_diag.cli.options import add_device_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a run's saved model again",
        description="Load RUN_DIR/model.pt and score it on dev and test of the run's dataset, or of "
        "--dataset (a feature file of the same format), optionally with modalities masked. Prints the "
        "joint metrics (with --mask: intact, masked and the change) and writes "
        "RUN_DIR/evaluations/<dataset>[-mask-<m>].json.",
    )
    parser.add_argument("run_dir", help="a run directory with model.pt")
    parser.add_argument("--dataset", default=None, help="feature file to score on (default: the run's dataset)")
    parser.add_argument("--mask", default="", help="modalities to mask, e.g. a,v")
    parser.add_argument("--mask-value", choices=("mean", "zero"), default="mean",
                        help="what replaces a masked modality's input (default: %(default)s, the training mean)")
    add_device_option(parser)
    parser.add_argument("--json", action="store_true", help="print every score as JSON instead of the table")
    parser.set_defaults(handler=handle, user_errors=(ValueError,))  # a mask naming a modality the model lacks, ...


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.runs.scoring import evaluate_run, evaluation_path

    scores = evaluate_run(args.run_dir, dataset=args.dataset, mask=args.mask, mask_value=args.mask_value,
                          device=args.device)
    if args.json:
        # NaN (a class with no gold and no predicted utterance) is printed as null: valid JSON
        shown = {split: {scope: {k: round(v, 4) if math.isfinite(v) else None for k, v in m.items()}
                         for scope, m in scores[split].items()}
                 for split in ("dev", "test") if split in scores}
        print(json.dumps({"run_id": scores["run_id"], "dataset": scores["dataset"], "mask": scores["mask"], **shown},
                         indent=2))
        return 0
    masked = scores["mask"]
    intact = evaluate_run(args.run_dir, dataset=args.dataset, device=args.device, write=False) if masked else None
    print(f"run {scores['run_id']} on {scores['dataset']}"
          + (f", {masked} masked ({scores['mask_value']})" if masked else ""))
    print(score_table(scores, intact))
    print(f"wrote {evaluation_path(args.run_dir, str(scores['dataset']), masked)} (every scope and per-class F1; --json prints it)")
    return 0


def score_table(scores: dict, intact: dict | None) -> str:
    """Aligned lines of the joint scores of dev and test: metric and value, or metric, intact, masked, change."""
    header = ["split", "metric", "value"] if intact is None else ["split", "metric", "intact", "masked", "change"]
    rows = [header]
    for split in ("dev", "test"):
        if split not in scores:
            continue
        joint = next(iter(scores[split].values())) if "joint" not in scores[split] else scores[split]["joint"]
        for metric, value in joint.items():
            if metric.startswith("f1_class_"):
                continue  # per class: in the file
            if intact is None:
                rows.append([split, metric, f"{value:.4f}"])
            else:
                before = intact[split]["joint"][metric]
                rows.append([split, metric, f"{before:.4f}", f"{value:.4f}", f"{value - before:+.4f}"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
                     for r in rows)
