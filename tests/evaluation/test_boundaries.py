"""metrics/ stays pure functions over arrays: it imports no model, loop or batching code."""

from __future__ import annotations

import ast
from pathlib import Path

import spcl_diag

FORBIDDEN = ("spcl_diag.train", "spcl_diag.models", "spcl_diag.data.batching", "spcl_diag.evaluation", "torch")


def test_metrics_import_no_model_code():
    folder = Path(spcl_diag.__file__).parent / "metrics"
    offenders = []
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(FORBIDDEN)]
    assert not offenders
