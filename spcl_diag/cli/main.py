"""The ``spcl-diag`` command: one sub-command per module in :data:`COMMAND_MODULES`.

Each module exposes ``register(subparsers)``, which adds its parser and sets
``handler=<function(args) -> int>``. Everything a command does is one call in the API.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from spcl_diag import __version__
from spcl_diag.errors import ConfigError, DataFormatError

COMMAND_MODULES: tuple[str, ...] = (
    "spcl_diag.cli.run_cmd",
    "spcl_diag.cli.demo_cmd",
    "spcl_diag.cli.data_cmd",
    "spcl_diag.cli.compare_cmd",
    "spcl_diag.cli.batch_cmd",
    "spcl_diag.cli.figures_cmd",
    "spcl_diag.cli.report_cmd",
    "spcl_diag.cli.evaluate_cmd",
    "spcl_diag.cli.probe_cmd",
    "spcl_diag.cli.ls_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spcl-diag",
        description="Train MERC backbones with SPCL and its controls, and measure modality imbalance.",
    )
    parser.add_argument("--version", action="version", version=f"spcl-diag {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    # Commands that build run configs take any field as --section.key=value.
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "accepts_overrides", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.overrides = extra
    try:
        return int(args.handler(args) or 0)
    except (ConfigError, DataFormatError, FileNotFoundError) as err:
        print(f"spcl-diag {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
