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


def _shell_commands() -> list[tuple[str, int, list[str]]]:
    """Every ``spcl-diag ...`` line of the ```bash blocks of README.md and docs/*.md: (file, line, argv)."""
    import re
    import shlex

    root = Path(__file__).resolve().parents[2]
    found = []
    for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        in_bash, pending, start = False, "", 0
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.startswith("```"):
                in_bash = line.strip() in ("```bash", "```sh", "```console")
                continue
            if not in_bash:
                continue
            text = (pending + " " + line.strip()) if pending else line.strip()
            start = start if pending else number
            if text.endswith("\\"):
                pending = text[:-1]
                continue
            pending = ""
            for command in re.split(r"&&|\|", text):
                words = shlex.split(command.split(" #")[0].strip().removeprefix("$ "))
                if words[:1] == ["spcl-diag"] and len(words) > 1 and not words[1].startswith("-"):
                    found.append((path.name, start, words[1:]))
    return found


def test_every_command_in_the_readme_and_docs_parses():
    import warnings

    from spcl_diag.cli.main import build_parser

    commands = _shell_commands()
    assert len(commands) > 20
    parser = build_parser()
    for name, line, argv in commands:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                args, extra = parser.parse_known_args(argv)
            except SystemExit:
                raise AssertionError(f"{name}:{line}: `spcl-diag {' '.join(argv)}` does not parse") from None
        assert not extra or getattr(args, "accepts_overrides", False), f"{name}:{line}: unknown {extra}"
        assert not caught, f"{name}:{line}: an old spelling: {caught[0].message}"
