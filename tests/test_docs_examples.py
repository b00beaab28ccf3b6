"""Every ```python block of README.md and docs/*.md runs as written.

The blocks of one file run in order, in one namespace, in a fresh temporary working
directory, so a later block may use what an earlier one defined or wrote. A block preceded
by the line ``<!-- docs-test: skip (reason) -->`` (blank lines between are allowed) is not
run; the reason is required. Output belongs in ```text blocks, shell in ```bash blocks;
neither is run.
"""

from __future__ import annotations

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
MARKER = "<!-- docs-test:"


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    skip_reason: str | None


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
        if before.startswith(MARKER) and not skip:
            raise AssertionError(f"{path.name}:{start}: malformed marker {before!r}; "
                                 "write <!-- docs-test: skip (reason) -->")
        blocks.append(Block(path, start + 1, language, "\n".join(lines[start + 1:end]) + "\n",
                            skip.group("reason") if skip else None))
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
        for block in code_blocks(path):
            if block.language != "python" or block.skip_reason is not None:
                continue
            try:
                exec(compile(block.code, f"{path.name}:{block.line}", "exec"), namespace)  # noqa: S102 - running the docs is the point
            except Exception as err:  # name the block, keep the cause
                raise AssertionError(f"{path.name}, python block at line {block.line}: "
                                     f"{type(err).__name__}: {err}") from err
    finally:
        os.chdir(old)
    _NAMESPACES[path] = namespace
    return namespace


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
