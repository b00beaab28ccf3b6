"""Every ```python block of README.md and docs/*.md runs as written.

The blocks of one file run in order, in one namespace, in a fresh temporary working
directory, so a later block may use what an earlier one defined or wrote. A block preceded
by the line ``<!-- docs-test: skip (reason) -->`` (blank lines between are allowed) is not
run; the reason is required. Output belongs in ```text blocks, shell in ```bash blocks;
neither is run. A ```text block preceded by ``<!-- docs-test: output -->`` is the exact
printed output of the python block just before it (for deterministic examples): the test
compares them, line by line with trailing spaces ignored.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\S*)\s*$")
SKIP = re.compile(r"^<!-- docs-test: skip \((?P<reason>[^)]+)\) -->$")
OUTPUT = "<!-- docs-test: output -->"
MARKER = "<!-- docs-test:"


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    skip_reason: str | None
    is_output: bool = False  # a text block that must equal the previous python block's output


def code_blocks(path: Path) -> list[Block]:
    """The fenced blocks of ``path`` in order, with their skip markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        start, language = i, match.group(1)
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
        if end is None:
            raise AssertionError(f"{path.name}:{start + 1}: code block is never closed")
        before = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        skip = SKIP.match(before)
        is_output = before == OUTPUT
        if before.startswith(MARKER) and not skip and not is_output:
            raise AssertionError(f"{path.name}:{start}: malformed marker {before!r}; "
                                 f"write <!-- docs-test: skip (reason) --> or {OUTPUT}")
        if is_output and (language != "text" or not blocks or blocks[-1].language != "python"):
            raise AssertionError(f"{path.name}:{start}: {OUTPUT} must stand before a text block "
                                 "that follows a python block")
        blocks.append(Block(path, start + 1, language, "\n".join(lines[start + 1:end]) + "\n",
                            skip.group("reason") if skip else None, is_output))
        i = end + 1
    return blocks


_NAMESPACES: dict[Path, dict[str, Any]] = {}


def run_file(path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the python blocks of ``path`` once per session; their shared namespace."""
    if path in _NAMESPACES:
        return _NAMESPACES[path]
    # A real module, as when a reader runs the blocks as a script: dataclasses and pickling
    # look their class's module up in sys.modules.
    module = types.ModuleType(f"docs_{path.stem}")
    sys.modules[module.__name__] = module
    namespace: dict[str, Any] = module.__dict__
    cwd = tmp_path_factory.mktemp(f"docs_{path.stem}")
    old = Path.cwd()
    os.chdir(cwd)
    try:
        printed: str | None = None  # what the last python block run printed
        for block in code_blocks(path):
            if block.is_output and printed is not None:
                assert _lines(printed) == _lines(block.code), (
                    f"{path.name}, text block at line {block.line} is not what the python block "
                    f"before it prints:\n{printed}")
            if block.language != "python" or block.skip_reason is not None:
                printed = None
                continue
            out = io.StringIO()
            try:
                with contextlib.redirect_stdout(out):
                    exec(compile(block.code, f"{path.name}:{block.line}", "exec"), namespace)  # noqa: S102 - running the docs is the point
            except Exception as err:  # name the block, keep the cause
                raise AssertionError(f"{path.name}, python block at line {block.line}: "
                                     f"{type(err).__name__}: {err}") from err
            printed = out.getvalue()
            sys.stdout.write(printed)
    finally:
        os.chdir(old)
    _NAMESPACES[path] = namespace
    return namespace


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.name)
def test_python_blocks_run(path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    if not any(b.language == "python" and b.skip_reason is None for b in code_blocks(path)):
        pytest.skip(f"{path.name} has no python block to run")
    run_file(path, tmp_path_factory)


def test_readme_api_example_compares_trained_arms(tmp_path_factory: pytest.TempPathFactory) -> None:
    namespace = run_file(ROOT / "README.md", tmp_path_factory)
    for name in ("wf1", "disparity"):
        table = namespace[name]
        assert len(table) == 2 and (table["n_seeds"] == 3).all(), name  # every compared arm was trained
        assert table["diff"].notna().all() and table["mean"].notna().all(), name


def test_block_parser_and_skip_marker(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("```python\nx = 1\n```\n\n<!-- docs-test: skip (needs a GPU) -->\n\n```python\nraise SystemExit\n```\n"
                   "```bash\nls\n```\n")
    blocks = code_blocks(doc)
    assert [(b.language, b.line, b.skip_reason) for b in blocks] == [
        ("python", 1, None), ("python", 7, "needs a GPU"), ("bash", 10, None)]
    doc.write_text("<!-- docs-test: skip -->\n```python\nx = 1\n```\n")
    with pytest.raises(AssertionError, match="malformed marker"):
        code_blocks(doc)
    doc.write_text("```bash\nls\n```\n<!-- docs-test: output -->\n```text\nx\n```\n")
    with pytest.raises(AssertionError, match="must stand before a text block"):
        code_blocks(doc)


def test_output_marker_compares_printed_lines(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    doc = tmp_path / "printing.md"
    doc.write_text("```python\nprint('a  ')\nprint(1 + 1)\n```\n\n<!-- docs-test: output -->\n```text\na\n2\n```\n")
    assert code_blocks(doc)[1].is_output
    run_file(doc, tmp_path_factory)
    wrong = tmp_path / "wrong.md"
    wrong.write_text("```python\nprint(3)\n```\n<!-- docs-test: output -->\n```text\n2\n```\n")
    with pytest.raises(AssertionError, match="is not what the python block"):
        run_file(wrong, tmp_path_factory)
