"""The rule that marks tests ``trains`` (tests/training_tests.py) sees calls, helpers and fixtures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("training_tests", Path(__file__).with_name("training_tests.py"))
rule = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rule)


def test_calls_helpers_fixtures_and_commands_are_seen(tmp_path):
    (tmp_path / "conftest.py").write_text("import pytest\n@pytest.fixture\ndef trained():\n    return run(config)\n")
    module = tmp_path / "test_example.py"
    module.write_text(
        "def helper():\n    return run_batch(grid, out)\n\n"
        "def test_direct():\n    run(config, out)\n\n"
        "def test_through_a_helper():\n    helper()\n\n"
        "def test_through_a_fixture(trained):\n    assert trained\n\n"
        "def test_cli_run():\n    main(['run', '--epochs', '1'])\n\n"
        "def test_cli_ls():\n    main(['ls', 'runs'])\n\n"
        "def test_subprocess():\n    subprocess.run(['spcl-diag', 'ls'])\n\n"
        "def test_statistics(tmp_path):\n    compare(frame, 'test_wf1')\n"
    )
    found = {name: rule.function_trains(module, name, tmp_path) for name in (
        "test_direct", "test_through_a_helper", "test_through_a_fixture", "test_cli_run", "test_cli_ls",
        "test_subprocess", "test_statistics")}
    assert found == {"test_direct": True, "test_through_a_helper": True, "test_through_a_fixture": True,
                     "test_cli_run": True, "test_cli_ls": False, "test_subprocess": True, "test_statistics": False}


def test_doctests_that_train_are_seen():
    assert rule.doctest_trains("results = run_stack(configs, out)\nprint(results)")
    assert not rule.doctest_trains("metric_direction('test_wf1')")


def test_the_suite_marks_its_training_tests(pytestconfig):
    root = Path(pytestconfig.rootpath)
    assert rule.function_trains(root / "tests/test_golden.py", "test_run_ids_are_the_references", root)
    assert not rule.function_trains(root / "tests/stats/test_renamed_modules.py",
                                    "test_the_function_is_not_hidden_and_the_old_module_path_warns", root)


def test_no_doctest_of_the_package_trains(pytestconfig):
    """A training example is a fenced block checked by tests/test_docs_examples.py, not a doctest."""
    import ast
    import doctest

    root = Path(pytestconfig.rootpath)
    parser = doctest.DocTestParser()
    training = []
    for path in sorted((root / "spcl_diag").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                examples = parser.get_examples(ast.get_docstring(node) or "")
                if examples and rule.doctest_trains("\n".join(e.source for e in examples)):
                    training.append(f"{path.relative_to(root)}::{getattr(node, 'name', '<module>')}")
    assert training == []
    assert rule.doctest_trains("\n".join(e.source for e in parser.get_examples(">>> run(config, 'runs')\n")))
