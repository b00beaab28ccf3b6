"""The package keeps its layers (shared/DESIGN.md section 2): every import of ``spcl_diag/`` points down.

Every ``import`` and ``from ... import`` of every module is read with :mod:`ast` (those inside
functions and ``TYPE_CHECKING`` blocks too: a lazy import is still a dependency), mapped to the
package it names, and checked against the order below. A module imports only from its own layer
or below, and no two packages import each other (directly or through others).

Deprecated shims (a module that only forwards old import paths, marked by the line
``# layer-shim`` in its source) are exempt: they exist to keep old code working for one release.

Run as a script to print the import graph's upward edges and package cycles::

    python tests/test_layers.py
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "spcl_diag"

# bottom first; the units of one layer may import each other, but without a cycle
LAYERS: list[tuple[str, ...]] = [
    ("errors", "modalities", "docstrings", "plugins", "suggest", "_version", "_deprecation", "_lazy"),  # the base
    ("data", "metrics", "curriculum"),
    ("models",),
    ("config",),
    ("evaluation",),
    ("train",),
    ("runs",),
    ("stats",),
    ("batch", "plots"),
    ("report", "demo", "api"),
    ("cli",),
    ("__init__",),  # the package's public API (lazy): nothing inside the package imports it
]
LEVEL = {unit: level for level, units in enumerate(LAYERS) for unit in units}
SHIM_MARK = "# layer-shim"


def _is_shim(path: Path) -> bool:
    return SHIM_MARK in path.read_text().splitlines()


def _unit(module: str) -> str | None:
    """The layer unit of a dotted module name inside the package (``spcl_diag.runs.config`` -> ``runs``)."""
    parts = module.split(".")
    if parts[0] != "spcl_diag":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every spcl_diag module ``path`` imports, with the line; relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "spcl_diag":  # `from spcl_diag import x`: x may be a subpackage
                found += [(f"spcl_diag.{a.name}" if (ROOT / a.name).exists() or (ROOT / f"{a.name}.py").exists()
                           else "spcl_diag", node.lineno) for a in node.names]
            else:
                found.append((target, node.lineno))
    return [(name, line) for name, line in found if name.split(".")[0] == "spcl_diag"]


def import_graph() -> tuple[list[tuple[str, str, str, int]], dict[str, set[str]]]:
    """All (source unit, target unit, file, line) edges between units, and the unit graph."""
    edges = []
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sorted(ROOT.rglob("*.py")):
        if _is_shim(path):
            continue
        source = _unit(_module_name(path))
        for target_module, line in _imports(path):
            target = _unit(target_module)
            if target is None or target == source:
                continue
            edges.append((source, target, str(path.relative_to(ROOT.parent)), line))
            graph[source].add(target)
    return edges, graph


def upward_edges() -> list[tuple[str, str, str, int]]:
    edges, _ = import_graph()
    return [e for e in edges if LEVEL.get(e[1], -1) > LEVEL.get(e[0], -1) or e[1] not in LEVEL or e[0] not in LEVEL]


def unit_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_every_unit_has_a_layer():
    units = {_unit(_module_name(p)) for p in ROOT.rglob("*.py")}
    assert units <= set(LEVEL), f"add {sorted(units - set(LEVEL))} to LAYERS in tests/test_layers.py"


def test_imports_point_down():
    bad = [f"{file}:{line}: {src} imports {dst}" for src, dst, file, line in upward_edges()]
    assert not bad, "imports that point up a layer (shared/DESIGN.md section 2):\n" + "\n".join(bad)


def test_no_import_cycle_between_packages():
    _, graph = import_graph()
    assert unit_cycles(graph) == []


@pytest.mark.parametrize("shim", sorted(str(p.relative_to(ROOT.parent)) for p in ROOT.rglob("*.py")
                                        if _is_shim(p)))
def test_shims_only_forward(shim):
    """A shim defines nothing but the forwarding ``__getattr__``: it cannot hide new code."""
    tree = ast.parse((ROOT.parent / shim).read_text())
    defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert defined == ["__getattr__"], defined


def main() -> None:
    edges, graph = import_graph()
    up = upward_edges()
    pairs = sorted({(s, d) for s, d, _, _ in up})
    print(f"unit edges: {sum(len(v) for v in graph.values())}; import statements across units: {len(edges)}")
    print(f"upward unit edges: {len(pairs)} ({len(up)} import statements)")
    for s, d in pairs:
        where = [f"{f}:{line}" for src, dst, f, line in up if (src, dst) == (s, d)]
        print(f"  {s} -> {d}: {', '.join(where)}")
    cycles = unit_cycles(graph)
    print(f"package cycles: {len(cycles)} {cycles}")


if __name__ == "__main__":
    sys.exit(main())
