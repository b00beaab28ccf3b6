"""Which tests train a model: the rule behind the ``trains`` marker (``tests/conftest.py``).

Read statically from the test sources with ``ast``, so the fast lane (``pytest -m "not
trains"``) knows before anything runs. A function *trains* when its body calls

* an entry point that trains: :data:`TRAINING_CALLS` (``run``, ``run_batch``, ``run_stack``,
  ``train_run``, ``train_stacked``, ...);
* the command line with a command that trains (``main(["run", ...])``, :data:`TRAINING_COMMANDS`),
  or any subprocess (the ``spcl-diag`` command, worker processes);
* a function of its own module, or a fixture (from its module or a ``conftest.py``), that trains.

A doctest trains when its examples call one of :data:`TRAINING_CALLS`. What is not a call in
the source (an entry point passed as a value, a loop behind a plugin) is not seen: name the
test in :data:`ALSO_TRAINS`.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

TRAINING_CALLS = frozenset({
    "run", "run_batch", "run_stack", "train_run", "train_stacked", "run_demo", "tune", "run_until_decided",
    "run_sweep", "fit", "train", "batch_summary", "probe_run", "evaluate_run",
})
TRAINING_COMMANDS = frozenset({"run", "batch", "demo", "tune", "sequential", "evaluate", "probe"})
SUBPROCESS_CALLS = frozenset({"Popen", "check_call", "check_output", "call"})
ALSO_TRAINS: frozenset[str] = frozenset({  # "path/test_x.py::test_name" the rule cannot see
    "tests/test_docs_examples.py::test_python_blocks_run",  # the README's and docs' blocks train
    "tests/test_docs_examples.py::test_docstring_example",  # the docstrings' fenced examples train
})


def _called_names(node: ast.AST) -> set[str]:
    """Names called in ``node``: ``f(...)`` -> f, ``m.f(...)`` -> f, ``main(["run", ...])`` -> main:run."""
    names: set[str] = set()
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        if owner == "subprocess" or name in SUBPROCESS_CALLS:
            names.add("subprocess")
        elif name == "main" and call.args and isinstance(call.args[0], ast.List | ast.Tuple) and call.args[0].elts:
            first = call.args[0].elts[0]
            names.add(f"main:{first.value}" if isinstance(first, ast.Constant) else "main:?")
        elif name:
            names.add(name)
    return names


def _trains_directly(names: set[str]) -> bool:
    return bool(names & TRAINING_CALLS) or "subprocess" in names or any(
        n.startswith("main:") and n[5:] in {*TRAINING_COMMANDS, "?"} for n in names)


@cache
def _module(path: Path) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """Each function's called names and its parameters (the fixtures it asks for)."""
    calls: dict[str, set[str]] = {}
    params: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            calls[node.name] = _called_names(node)
            params[node.name] = [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)]
    return calls, params


def _scopes(path: Path, root: Path) -> list[Path]:
    """The module itself, then every ``conftest.py`` from its folder up to ``root``."""
    scopes = [path]
    folder = path.parent
    while True:
        if (folder / "conftest.py").is_file() and folder / "conftest.py" != path:
            scopes.append(folder / "conftest.py")
        if folder == root or folder == folder.parent:
            return scopes
        folder = folder.parent


def function_trains(path: Path, name: str, root: Path, _seen: frozenset[tuple[Path, str]] = frozenset()) -> bool:
    """Whether the function ``name`` of the test module ``path`` trains (see the module docstring)."""
    calls, params = _module(path)
    if name not in calls or (path, name) in _seen:
        return False
    seen = _seen | {(path, name)}
    if _trains_directly(calls[name]):
        return True
    for helper in calls[name] | set(params[name]):  # own helpers and fixtures, wherever they are defined
        for scope in _scopes(path, root):
            if helper in _module(scope)[0] and function_trains(scope, helper, root, seen):
                return True
    return False


def doctest_trains(source: str) -> bool:
    """Whether doctest examples (their joined source) call a training entry point."""
    try:
        return _trains_directly(_called_names(ast.parse(source)))
    except SyntaxError:
        return False
