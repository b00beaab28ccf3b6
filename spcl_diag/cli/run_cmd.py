"""``spcl-diag run``: train one configuration and write its run directory (:func:`spcl_diag.run`)."""

from __future__ import annotations

import argparse
import json

from spcl_diag.cli.options import (
    add_probe_log_options,
    add_run_options,
    config_from_args,
    split_overrides,
)

# Plain flags that a config file may set: given on the command line, they win over the file.
FILE_FLAGS: tuple[str, ...] = ("dataset", "backbone", "modalities", "curriculum", "balancing", "seed")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="train one configuration",
        description=(
            "Train one run and write <out>/<run_id>/. Any config field is reachable as an "
            "override: --train.lr=3e-4 --pacing.normalisation=kept --model.hidden_dim=64 "
            "--data.synthetic.n_dialogues=60. With --config FILE.toml the file sets the fields "
            "and the flags and overrides given here win over it."
        ),
    )
    add_run_options(parser)
    _defaults_mark_unset(parser)
    parser.add_argument("--config", default=None, help="TOML config file (top-level keys, [train], [model], [pacing], [data])")
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="import MODULE first (a module name, found on PYTHONPATH or in the current folder, or a file path such as path/to/model.py), e.g. one that registers a backbone; repeatable")
    parser.add_argument("--write-config", default=None, metavar="FILE",
                        help="write the resolved config to FILE as TOML and exit without training")
    parser.add_argument("--out", default="runs", help="folder of run directories to write into (default: %(default)s)")
    parser.add_argument("--retry-failed", action="store_true", help="re-run a run recorded as failed")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_probe_log_options(parser)
    # a logger's optional package that is missing is the user's to install (the message names the extra)
    parser.set_defaults(handler=handle, accepts_overrides=True, user_errors=(ImportError,))


def _defaults_mark_unset(parser: argparse.ArgumentParser) -> None:
    """Default the file-settable flags to None (help still shows the real default), so that
    only flags actually given override a config file."""
    for action in parser._actions:
        if action.dest in FILE_FLAGS and action.default is not None:
            action.help = (action.help or "").replace("%(default)s", str(action.default))
            action.default = None


def handle(args: argparse.Namespace) -> int:
    config = config_from_args(args, split_overrides(args.overrides))
    if args.write_config is not None:
        from spcl_diag.config.file import write_config_file

        path = write_config_file(config.resolved(), args.write_config)
        print(f"wrote {path} (run id {config.run_id()})")
        return 0
    from spcl_diag.runs.execute import run  # torch: only when the command runs

    result = run(config, args.out, device=args.device, progress=not args.quiet, retry_failed=args.retry_failed,
                 probe=args.probe, log=args.log)
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
