"""The ``spcl-diag`` command: one sub-command per module in :data:`COMMAND_MODULES`.

Each module exposes ``register(subparsers)``, which adds its parser and sets
``handler=<function(args) -> int>``. Everything a command does is one call in the API: the
handler parses, calls the exported function of the command's name (:data:`PARITY`, with the
flags' dest names as its parameter names) and prints; ``tests/cli/test_parity.py`` checks it.

Start-up stays light: a ``*_cmd.py`` module imports only the standard library and light
package modules at its top; torch, pandas, scipy, statsmodels, matplotlib (and any module
that imports them) are imported inside its handler. So ``spcl-diag --help``, ``--version``
and every ``spcl-diag COMMAND --help`` answer at once (tests/cli/test_startup.py checks it).

A failure the user can fix is one line on stderr, ``spcl-diag COMMAND: error: ...``, and
exit status 2, printed here and nowhere else: bad config values, bad data, a missing file, an
output folder that cannot be written, a run that cannot start, an unusable checkpoint (the
classes of :mod:`spcl_diag.errors`), and the ``ValueError`` of a statistic's input (a missing
metric or column) for the commands that declare ``user_errors=(ValueError,)``. A batch stopped by SIGINT or SIGTERM prints one line
(``interrupted: 9 of 16 runs done; ...``) and exits 130 or 143, as a shell does; so does a
single run stopped by Ctrl-C (its temporary folder removed). Output cut short by a closed pipe
(``spcl-diag ls | head``) ends quietly with status 141. Warnings are one line,
``spcl-diag: warning: ...``, without a source line. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import warnings

from spcl_diag._version import __version__
from spcl_diag.errors import USER_ERRORS, show_warning_one_line

COMMAND_MODULES: tuple[str, ...] = (
    "spcl_diag.cli.run_cmd",
    "spcl_diag.cli.demo_cmd",
    "spcl_diag.cli.data_cmd",
    "spcl_diag.cli.compare_cmd",
    "spcl_diag.cli.batch_cmd",
    "spcl_diag.cli.figures_cmd",
    "spcl_diag.cli.report_cmd",
    "spcl_diag.cli.reproduce_cmd",
    "spcl_diag.cli.tune_cmd",
    "spcl_diag.cli.rank_cmd",
    "spcl_diag.cli.meta_cmd",
    "spcl_diag.cli.interaction_cmd",
    "spcl_diag.cli.per_class_cmd",
    "spcl_diag.cli.evaluate_cmd",
    "spcl_diag.cli.probe_cmd",
    "spcl_diag.cli.ls_cmd",
    "spcl_diag.cli.clean_cmd",
)

# command -> the exported function (``spcl_diag.<name>``) its handler calls; a mode flag
# (``--until-decided``) calls the function named after it instead. The dest of every flag is a
# parameter of that function, save the flags that only say how to print or save the result.
PARITY: dict[str, str] = {
    "run": "run", "demo": "run_demo", "data inspect": "inspect_data", "data validate": "validate_data",
    "data convert": "convert_data", "compare": "compare", "batch": "run_batch", "figures": "write_figures",
    "report": "write_report", "reproduce": "reproduce", "tune": "tune", "rank": "rank_arms",
    "meta": "meta_analysis", "interaction": "interaction", "per-class": "per_class_tables",
    "evaluate": "evaluate_run", "probe": "probe_run", "ls": "list_runs", "clean": "clean_runs",
}
MODES: dict[str, dict[str, str]] = {  # command -> flag dest -> the function that flag calls instead
    "run": {"write_config": "write_config_file"},
    "batch": {"until_decided": "run_until_decided", "dry_run": "plan_batch"},
}


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
    with warnings.catch_warnings():
        warnings.showwarning = show_warning_one_line  # also for an old flag's warning, issued while parsing
        # Commands that build run configs take any field as --section.key=value.
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "accepts_overrides", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = extra
        user_errors = USER_ERRORS + tuple(getattr(args, "user_errors", ()))
        try:
            status = int(args.handler(args) or 0)
            sys.stdout.flush()  # a closed pipe shows here, not at exit
            return status
        except BrokenPipeError:  # `spcl-diag ls | head`: the reader left; stop quietly, as Unix tools do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the flush at exit fails no more
            return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the closed pipe
        except user_errors as err:
            print(f"spcl-diag {args.command}: error: {err}", file=sys.stderr)
            return 2
        except KeyboardInterrupt as stop:  # a batch stopped by a signal (BatchInterrupted), or Ctrl-C
            for stopping in (signal.SIGINT, signal.SIGTERM):  # cleaned up already: a second signal changes nothing
                signal.signal(stopping, signal.SIG_IGN)
            unsaved = "; the unfinished run was not saved" if args.command == "run" else ""
            print(f"spcl-diag {args.command}: {str(stop) or 'interrupted' + unsaved}", file=sys.stderr)
            return int(getattr(stop, "exit_status", 130))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
