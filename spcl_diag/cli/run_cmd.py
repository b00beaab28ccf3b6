"""``spcl-diag run``: train one configuration and write its run directory."""

from __future__ import annotations

import argparse
import json

from spcl_diag.cli.options import add_run_options, config_from_args, split_overrides


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
    parser.set_defaults(handler=handle, accepts_overrides=True)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.runs.execute import run  # torch: only when the command runs

    config = config_from_args(args, split_overrides(args.overrides))
    result = run(config, args.out, device=args.device, progress=not args.quiet, retry_failed=args.retry_failed)
    if result.status != "ok":
        epoch = result.result.get("failed_epoch")
        print(f"run {result.run_id} failed{f' in epoch {epoch}' if epoch else ''}: {result.error}\n"
              f"  traceback in {result.path / 'error.txt'}; the failure is recorded: train it again with --retry-failed")
        return 1
    summary = {
        "run_id": result.run_id,
        "path": str(result.path),
        "best_epoch": result.result["best_epoch"],
        "test": {scope: {k: round(v, 4) for k, v in m.items()} for scope, m in result.result["test"].items()},
    }
    print(json.dumps(summary, indent=2))
    return 0
