"""Every ```python block of README.md, docs/*.md and the package's docstrings runs as written.

An example that trains a model is a fenced ```python block of its docstring, not a doctest
(``>>>``): doctests run in the fast lane, and a trained model's numbers are checked better by
assertions than by a printed repr. Each docstring example has a check below
(:data:`CHECKS`) that asserts on the names it leaves; a docstring example without a check fails.

The blocks of one file (or one docstring) run in order, in one namespace, in a fresh temporary
working directory, so a later block may use what an earlier one defined or wrote. A block preceded
by the line ``<!-- docs-test: skip (reason) -->`` (blank lines between are allowed) is not
run; the reason is required. Output belongs in ```text blocks, shell in ```bash blocks;
neither is run. A ```text block preceded by ``<!-- docs-test: output -->`` is the exact
printed output of the python block just before it (for deterministic examples): the test
compares them, line by line with trailing spaces ignored.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PACKAGE = ROOT / "spcl_diag"
FENCE = re.compile(r"^```(\S*)\s*$")
SKIP = re.compile(r"^<!-- docs-test: skip \((?P<reason>[^)]+)\) -->$")
OUTPUT = "<!-- docs-test: output -->"
MARKER = "<!-- docs-test:"


@dataclass(frozen=True)
class Document:
    """Markdown whose python blocks run together: a file, or one docstring of the package."""

    name: str  # README.md, or spcl_diag/runs/execute.py::run
    text: str
    first_line: int = 1  # the line of its file where ``text`` starts


def markdown_file(path: Path) -> Document:
    return Document(path.name, path.read_text(encoding="utf-8"))


def docstring_examples() -> dict[str, Document]:
    """The docstrings of ``spcl_diag`` (module, class, function, method) that hold a ```python block."""
    documents: dict[str, Document] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        _visit(ast.parse(path.read_text(encoding="utf-8")), path.relative_to(ROOT).as_posix(), documents)
    return documents


def _visit(node: ast.AST, name: str, documents: dict[str, Document]) -> None:
    """Add the docstring of ``node`` (named ``name``) when it has a python block, then its classes' and functions'."""
    body = getattr(node, "body", [])
    first = body[0].value if body and isinstance(body[0], ast.Expr) else None
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and "```python" in first.value:
        documents[name] = Document(name, ast.get_docstring(node) or "", body[0].lineno)
    for child in body:
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            _visit(child, f"{name}.{child.name}" if "::" in name else f"{name}::{child.name}", documents)


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown document."""

    source: str  # the document's name
    line: int  # 1-based line of the opening fence in the document's file
    language: str
    code: str
    skip_reason: str | None
    is_output: bool = False  # a text block that must equal the previous python block's output


def code_blocks(document: Document) -> list[Block]:
    """The fenced blocks of ``document`` in order, with their skip markers."""
    lines = document.text.splitlines()
    name = document.name
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
            raise AssertionError(f"{name}:{start + document.first_line}: code block is never closed")
        before = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        skip = SKIP.match(before)
        is_output = before == OUTPUT
        if before.startswith(MARKER) and not skip and not is_output:
            raise AssertionError(f"{name}:{start + document.first_line - 1}: malformed marker {before!r}; "
                                 f"write <!-- docs-test: skip (reason) --> or {OUTPUT}")
        if is_output and (language != "text" or not blocks or blocks[-1].language != "python"):
            raise AssertionError(f"{name}:{start + document.first_line - 1}: {OUTPUT} must stand before a text block "
                                 "that follows a python block")
        blocks.append(Block(name, start + document.first_line, language, "\n".join(lines[start + 1:end]) + "\n",
                            skip.group("reason") if skip else None, is_output))
        i = end + 1
    return blocks


_RAN: dict[str, tuple[dict[str, Any], Path]] = {}  # document name -> its namespace and the folder it ran in


def run_file(path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_document(markdown_file(path), tmp_path_factory)


def run_document(document: Document, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the python blocks of ``document`` once per session; their shared namespace."""
    if document.name in _RAN:
        return _RAN[document.name][0]
    # A real module, as when a reader runs the blocks as a script: dataclasses and pickling
    # look their class's module up in sys.modules.
    stem = re.sub(r"\W+", "_", document.name.removesuffix(".md"))
    module = types.ModuleType(f"docs_{stem}")
    sys.modules[module.__name__] = module
    namespace: dict[str, Any] = module.__dict__
    cwd = tmp_path_factory.mktemp(f"docs_{stem}"[:60])
    old = Path.cwd()
    os.chdir(cwd)
    try:
        printed: str | None = None  # what the last python block run printed
        for block in code_blocks(document):
            if block.is_output and printed is not None:
                assert _lines(printed) == _lines(block.code), (
                    f"{document.name}, text block at line {block.line} is not what the python block "
                    f"before it prints:\n{printed}")
            if block.language != "python" or block.skip_reason is not None:
                printed = None
                continue
            out = io.StringIO()
            try:
                with contextlib.redirect_stdout(out):
                    exec(compile(block.code, f"{document.name}:{block.line}", "exec"), namespace)  # noqa: S102 - running the docs is the point
            except Exception as err:  # name the block, keep the cause
                raise AssertionError(f"{document.name}, python block at line {block.line}: "
                                     f"{type(err).__name__}: {err}") from err
            printed = out.getvalue()
            sys.stdout.write(printed)
    finally:
        os.chdir(old)
    _RAN[document.name] = namespace, cwd
    return namespace


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.name)
def test_python_blocks_run(path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    if not any(b.language == "python" and b.skip_reason is None for b in code_blocks(markdown_file(path))):
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
    blocks = code_blocks(markdown_file(doc))
    assert [(b.language, b.line, b.skip_reason) for b in blocks] == [
        ("python", 1, None), ("python", 7, "needs a GPU"), ("bash", 10, None)]
    doc.write_text("<!-- docs-test: skip -->\n```python\nx = 1\n```\n")
    with pytest.raises(AssertionError, match="malformed marker"):
        code_blocks(markdown_file(doc))
    doc.write_text("```bash\nls\n```\n<!-- docs-test: output -->\n```text\nx\n```\n")
    with pytest.raises(AssertionError, match="must stand before a text block"):
        code_blocks(markdown_file(doc))


def test_output_marker_compares_printed_lines(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    doc = tmp_path / "printing.md"
    doc.write_text("```python\nprint('a  ')\nprint(1 + 1)\n```\n\n<!-- docs-test: output -->\n```text\na\n2\n```\n")
    assert code_blocks(markdown_file(doc))[1].is_output
    run_file(doc, tmp_path_factory)
    wrong = tmp_path / "wrong.md"
    wrong.write_text("```python\nprint(3)\n```\n<!-- docs-test: output -->\n```text\n2\n```\n")
    with pytest.raises(AssertionError, match="is not what the python block"):
        run_file(wrong, tmp_path_factory)


DOCSTRINGS = docstring_examples()
CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {}


def checks(name: str) -> Callable[[Callable[[dict[str, Any]], None]], Callable[[dict[str, Any]], None]]:
    """Register the check of the docstring example ``name`` (``path::qualname``)."""
    def register(check: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        CHECKS[name] = check
        return check
    return register


def test_every_docstring_example_has_a_check() -> None:
    assert len(DOCSTRINGS) >= 13, sorted(DOCSTRINGS)  # the parser still finds the examples
    assert sorted(DOCSTRINGS) == sorted(CHECKS), "give each docstring example a check below (CHECKS)"


@pytest.mark.parametrize("name", sorted(DOCSTRINGS))
def test_docstring_example(name: str, tmp_path_factory: pytest.TempPathFactory,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The example runs as written, then its check asserts on what it left, in the folder it ran in."""
    namespace = run_document(DOCSTRINGS[name], tmp_path_factory)
    monkeypatch.chdir(_RAN[name][1])
    CHECKS[name](namespace)


def _ok(result) -> None:
    assert result.status == "ok", result.result.get("error")
    assert (Path(result.path) / "result.json").is_file()


@checks("spcl_diag/runs/execute.py::run")
def _run(ns: dict[str, Any]) -> None:
    result = ns["result"]
    _ok(result)
    assert sorted(result.result["test"]) == ["a", "joint", "t", "v"]
    assert Path(result.path) == Path("runs") / result.run_id
    record = json.loads((Path(result.path) / "config.json").read_text())
    assert record["config"]["curriculum"] == "spcl" and record["config"]["train"]["epochs"] == 2


@checks("spcl_diag/runs/stack.py")
def _run_stack(ns: dict[str, Any]) -> None:
    results = ns["results"]
    for r, arm in zip(results, ("none", "spcl", "random", "anti"), strict=True):
        assert json.loads((Path(r.path) / "config.json").read_text())["config"]["curriculum"] == arm
        _ok(r)
        assert r.result["stack"]["arms"] == ["none", "spcl", "random", "anti"]
    assert len({r.run_id for r in results}) == 4


@checks("spcl_diag/train/stacked.py")
def _train_stacked(ns: dict[str, Any]) -> None:
    outcomes = ns["outcomes"]
    assert sorted(outcomes) == ["none", "random", "spcl"]
    kept = outcomes["spcl"].pacing.kept
    np.testing.assert_array_equal(outcomes["random"].pacing.kept, kept)
    assert kept.shape[0] == 2 and bool((kept > 0).all())  # one count per epoch, none empty


@checks("spcl_diag/batch/__init__.py")
def _batch_module(ns: dict[str, Any]) -> None:
    summary = ns["summary"]
    assert summary.line() == "6 runs: 6 done, 0 skipped, 0 failed"
    for outcome in summary.outcomes:
        record = json.loads((Path("runs") / outcome.run_id / "config.json").read_text())
        assert sorted(record["stack"]["arms"]) == ["none", "random", "spcl"]


@checks("spcl_diag/batch/runner.py::run_batch")
def _run_batch(ns: dict[str, Any]) -> None:
    assert ns["first"].line() == "1 runs: 1 done, 0 skipped, 0 failed"
    assert ns["again"].line() == "1 runs: 0 done, 1 skipped, 0 failed"
    assert [o.run_id for o in ns["first"].outcomes] == [o.run_id for o in ns["again"].outcomes]


@checks("spcl_diag/batch/sequential.py::run_until_decided")
def _run_until_decided(ns: dict[str, Any]) -> None:
    summary, first = ns["summary"], ns["first"]
    assert len(summary.rounds) == 2 and first["seeds"] == [0, 1]
    assert first["decision"] == "undecided"
    from spcl_diag import list_runs

    trained = sorted((r["curriculum"], r["seed"]) for r in list_runs("runs"))
    assert trained == [("none", 0), ("none", 1), ("spcl", 0), ("spcl", 1)]


@checks("spcl_diag/batch/tune.py::tune")
def _tune(ns: dict[str, Any]) -> None:
    result = ns["result"]
    assert [c["arm"] for c in result.choices] == ["none"]
    chosen = result.choices[0]["overrides"]
    assert chosen in ({"train.lr": 1e-4}, {"train.lr": 1e-3}), chosen
    assert json.loads(Path(result.path).read_text())["choices"][0]["overrides"] == chosen


@checks("spcl_diag/evaluation/checkpoint.py::load_checkpoint")
def _load_checkpoint(ns: dict[str, Any]) -> None:
    result, checkpoint = ns["result"], ns["checkpoint"]
    _ok(result)
    assert checkpoint.config.run_id() == result.run_id and checkpoint.model.modalities == "tav"
    assert checkpoint.config.train.epochs == 1 and checkpoint.config.model["hidden_dim"] == 8


@checks("spcl_diag/runs/listing.py::list_runs")
def _list_runs(ns: dict[str, Any]) -> None:
    listed = ns["list_runs"]("runs")
    assert [(r["curriculum"], r["seed"], r["status"]) for r in listed] == [("none", 2, "ok")]
    assert ns["list_runs"]("runs", {"curriculum": ["spcl"]}) == []


@checks("spcl_diag/runs/loading.py::load_runs")
def _load_runs(ns: dict[str, Any]) -> None:
    tables = ns["tables"]
    assert tables.results[["curriculum", "seed", "status"]].values.tolist() == [["none", 1, "ok"]]
    assert sorted(tables.epochs["split"].unique()) == ["dev", "test", "train"]
    assert sorted(tables.epochs["epoch"].unique()) == [1, 2]


@checks("spcl_diag/runs/per_class.py::per_class_tables")
def _per_class_tables(ns: dict[str, Any]) -> None:
    tables = ns["tables"]
    assert sorted(tables.contribution["metric"].unique()) == ["shapley_acc", "unimodal_acc"]
    assert tables.kept["epoch"].max() == 1
    assert tables.kept["kept_fraction"].between(0, 1).all()


@checks("spcl_diag/runs/scoring.py::evaluate_run")
def _evaluate_run(ns: dict[str, Any]) -> None:
    result, again, text_only = ns["result"], ns["again"], ns["text_only"]
    assert again["test"]["joint"]["wf1"] == pytest.approx(result.result["test"]["joint"]["wf1"], abs=1e-6)
    assert text_only["mask"] == "av"
    assert 0 <= text_only["test"]["joint"]["wf1"] <= 1
    assert not (Path(result.path) / "evaluations").exists()  # write=False writes nothing


@checks("spcl_diag/stats/dialogue_bootstrap.py::dialogue_bootstrap_runs")
def _dialogue_bootstrap_runs(ns: dict[str, Any]) -> None:
    res = ns["res"]
    assert res.method == "bootstrap-percentile" and res.low <= res.estimate <= res.high
    assert ns["spcl"] != ns["none"]
