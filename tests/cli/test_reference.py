"""docs/cli.md is the argparse definitions, rendered: regenerate it when a flag changes."""

from __future__ import annotations

from pathlib import Path

from spcl_diag.cli.main import build_parser
from spcl_diag.cli.reference import cli_reference

CLI_MD = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_docs_cli_md_is_current():
    assert CLI_MD.read_text(encoding="utf-8") == cli_reference(), (
        "docs/cli.md is out of date: run `python -m spcl_diag.cli.reference`")


def test_reference_names_every_command_and_flag():
    text = cli_reference()
    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    for name, sub in commands.items():
        assert f"## `{name}`" in text, name
        for action in sub._actions:
            if action.help == "==SUPPRESS==" or action.dest == "help":
                continue
            for flag in action.option_strings:
                assert f"`{flag}" in text, (name, flag)
