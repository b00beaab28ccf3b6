"""``spcl-diag run``: train one configuration and write its run directory."""

from __future__ import annotations

import argparse
import json
import sys

from spcl_diag.cli.options import add_run_options, config_from_args, split_overrides
from spcl_diag.runs.execute import run


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="train one configuration",
        description=(
            "Train one run and write <out>/<run_id>/. Any config field is reachable as an "
            "override: --train.lr=3e-4 --pacing.normalisation=kept --model.hidden_dim=64 "
            "--data.synthetic.n_dialogues=60."
        ),
    )
    add_run_options(parser)
    parser.add_argument("--out", default="runs", help="folder of run directories (default: %(default)s)")
    parser.add_argument("--retry-failed", action="store_true", help="re-run a run recorded as failed")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--probe", action="store_true", help="fit linear probes on the selected model (probe.json)")
    parser.add_argument("--log", nargs="+", default=[], choices=("tensorboard", "wandb", "mlflow"),
                        help="experiment loggers (optional extras); tensorboard writes into the run directory")
    parser.set_defaults(handler=handle, accepts_overrides=True)


def handle(args: argparse.Namespace) -> int:
    config = config_from_args(args, split_overrides(args.overrides))
    try:
        result = run(config, args.out, device=args.device, progress=not args.quiet, retry_failed=args.retry_failed,
                     probe=args.probe, log=args.log)
    except ImportError as err:  # a logger's optional package is missing
        print(f"spcl-diag run: error: {err}", file=sys.stderr)
        return 2
    if result.status != "ok":
        print(f"run {result.run_id} failed; traceback in {result.path / 'error.txt'}")
        return 1
    summary = {
        "run_id": result.run_id,
        "path": str(result.path),
        "best_epoch": result.result["best_epoch"],
        "test": {scope: {k: round(v, 4) for k, v in m.items()} for scope, m in result.result["test"].items()},
    }
    print(json.dumps(summary, indent=2))
    return 0
