"""Every command is one exported function of the same name and parameters (issue 27 item 1).

Three checks over :data:`spcl_diag.cli.main.PARITY`:

* by :mod:`ast`: the handlers of a command module call no exported function (a name of
  ``spcl_diag._EXPORTS``) other than the command's own and those of its mode flags;
* by calling: ``main([...])`` with every exported function replaced by a recorder reaches the
  command's function first, and its arguments bind to the real function's signature;
* by the parsers: every flag's dest is a parameter of that function, once the few
  translations below are made (``--quiet`` is ``progress=False``, the flags that build a
  config are ``config=``, the executor's own flags build ``executor=``) or it only says how to
  print or save the result.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
from pathlib import Path

import pytest

import spcl_diag
from spcl_diag.cli import main as cli
from spcl_diag.cli.main import MODES, PARITY, build_parser

# flags that say how to print or save the result, not what to compute
PRESENTATION = {"csv", "csv_prefix", "latex", "markdown", "digits", "json", "figure", "format", "dpi"}
TRANSLATED = {  # dest -> the parameter it becomes
    "quiet": "progress",  # progress=not args.quiet
    **dict.fromkeys(("dataset", "backbone", "modalities", "curriculum", "balancing", "seed", "epochs", "data_dir",
                     "plugin", "config", "overrides"), "config"),  # run: config_from_args(args)
    **dict.fromkeys(("cluster", "slurm_partition", "timeout_min", "ray_address", "cpus_per_run", "gpus_per_run"),
                    "executor"),  # batch: make_executor(name, **its options)
    **dict.fromkeys(("status", "arm", "plugins"), "filters"),  # ls: filters={field: values}
}


def _function(name: str):
    return getattr(importlib.import_module(spcl_diag._EXPORTS[name]), name)


def _functions(command: str) -> list[str]:
    return [PARITY[command], *MODES.get(command, {}).values()]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found[f"{prefix}{name}"] = sub
                    walk(sub, f"{prefix}{name} ")

    walk(build_parser(), "")
    return found


def _leaves() -> dict[str, argparse.ArgumentParser]:
    subs = _subparsers()
    return {name: sub for name, sub in subs.items() if not any(other.startswith(name + " ") for other in subs)}


EXPORTED_FUNCTIONS = {name for name in spcl_diag._EXPORTS if name[0].islower()}


def test_every_command_has_its_function_and_every_function_is_exported():
    assert set(_leaves()) == set(PARITY)
    for command in PARITY:
        for function in _functions(command):
            assert function in EXPORTED_FUNCTIONS, f"{command}: {function} is not exported from spcl_diag"
            assert callable(getattr(spcl_diag, function))


@pytest.mark.parametrize("module", cli.COMMAND_MODULES)
def test_handlers_call_no_other_exported_function(module):
    source = Path(importlib.import_module(module).__file__).read_text()
    called = {node.func.id if isinstance(node.func, ast.Name) else node.func.attr
              for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
              and isinstance(node.func, (ast.Name, ast.Attribute))}
    commands = [c for c, sub in _leaves().items() if sub.get_default("handler").__module__ == module]
    allowed = {f for c in commands for f in _functions(c)}
    assert commands
    assert called & EXPORTED_FUNCTIONS == allowed, f"{module} calls {sorted(called & EXPORTED_FUNCTIONS)}"


@pytest.mark.parametrize("command", sorted(PARITY))
def test_every_flag_is_a_parameter_of_the_function(command):
    parser = _leaves()[command]
    parameters = set().union(*(inspect.signature(_function(f)).parameters for f in _functions(command)))
    modes = set(MODES.get(command, {}))
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.dest in modes | PRESENTATION:
            continue
        if action.dest == "executor" and command != "batch":
            continue
        dest = action.dest if action.dest in parameters else TRANSLATED.get(action.dest, action.dest)
        if command == "ls" and action.dest in ("dataset", "backbone", "modalities", "curriculum", "balancing", "seed"):
            dest = "filters"
        assert dest in parameters, f"{command}: flag {action.option_strings or action.dest} (dest {action.dest!r}) " \
                                   f"is no parameter of {', '.join(_functions(command))}"


class _Called(BaseException):  # not an Exception: nothing on the way catches it
    pass


ARGV: dict[str, list[str]] = {
    "run": ["run", "--out", "x", "--seed", "1"],
    "demo": ["demo", "--out", "x"],
    "data inspect": ["data", "inspect", "synthetic"],
    "data validate": ["data", "validate", "f.pkl"],
    "data convert": ["data", "convert", "f.pkl", "f.npz"],
    "compare": ["compare", "runs", "--metric", "test_wf1", "--rng-seed", "3"],
    "batch": ["batch", "g.toml", "--jobs", "2"],
    "figures": ["figures", "runs"],
    "report": ["report", "runs"],
    "reproduce": ["reproduce", "runs", "--dataset-name", "a=b"],
    "tune": ["tune", "g.toml"],
    "rank": ["rank", "runs"],
    "meta": ["meta", "runs"],
    "interaction": ["interaction", "runs"],
    "per-class": ["per-class", "run"],
    "evaluate": ["evaluate", "run"],
    "probe": ["probe", "run"],
    "ls": ["ls", "runs"],
    "clean": ["clean", "runs"],
}
MODE_ARGV = {("batch", "plan_batch"): ["batch", "g.toml", "--dry-run"],
             ("batch", "run_until_decided"): ["batch", "g.toml", "--until-decided"],
             ("run", "write_config_file"): ["run", "--write-config", "c.toml"]}


@pytest.mark.parametrize(("command", "function", "argv"),
                         [(c, PARITY[c], a) for c, a in ARGV.items()] + [(c, f, a) for (c, f), a in MODE_ARGV.items()])
def test_the_handler_calls_its_function_with_arguments_that_bind(monkeypatch, command, function, argv):
    calls: list[tuple[str, tuple, dict]] = []
    for name in EXPORTED_FUNCTIONS:
        module = importlib.import_module(spcl_diag._EXPORTS[name])

        def record(*args, _name=name, **kwargs):
            calls.append((_name, args, kwargs))
            raise _Called

        monkeypatch.setattr(module, name, record)
    with pytest.raises(_Called):
        cli.main(argv)
    name, args, kwargs = calls[0]
    assert name == function
    monkeypatch.undo()
    inspect.signature(_function(function)).bind(*args, **kwargs)  # raises TypeError when a name is wrong


def test_rng_seed_reaches_the_function_as_rng(monkeypatch, capsys):
    seen = {}

    def record(*args, **kwargs):
        seen.update(kwargs)
        raise _Called

    monkeypatch.setattr(importlib.import_module("spcl_diag.report"), "write_report", record)
    with pytest.raises(_Called):
        cli.main(["report", "runs", "--rng-seed", "7"])
    assert seen["rng"] == 7
    capsys.readouterr()
    with pytest.raises(_Called):
        cli.main(["report", "runs", "--seed", "5"])  # the old spelling: one release more, with a warning
    assert seen["rng"] == 5
    assert capsys.readouterr().err.startswith("spcl-diag: warning: --seed is deprecated here (it is the statistics' "
                                              "seed, not a run seed); use --rng-seed")


def test_run_batch_with_jobs_chooses_its_executor():
    from spcl_diag.batch.executors import LocalExecutor, ProcessExecutor, resolve_executor
    from spcl_diag.errors import ConfigError

    assert isinstance(resolve_executor(None, jobs=1), LocalExecutor)
    pool = resolve_executor(None, jobs=3)
    assert isinstance(pool, ProcessExecutor) and pool.jobs == 3
    given = LocalExecutor()
    assert resolve_executor(given, jobs=4) is given
    with pytest.raises(ConfigError, match="jobs must be a positive integer"):
        resolve_executor(None, jobs=0)


@pytest.mark.parametrize("command", ["batch", "tune", "demo"])
def test_jobs_is_checked_the_same_way_everywhere(capsys, command):
    argv = {"batch": ["batch", "g.toml"], "tune": ["tune", "g.toml"], "demo": ["demo"]}[command]
    with pytest.raises(SystemExit):
        cli.main([*argv, "--jobs", "0"])
    assert "--jobs: must be a positive integer (1, 2, ...); got '0'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["evaluate", "probe", "demo", "run", "batch", "tune"])
def test_device_defaults_to_auto_everywhere(command):
    assert _leaves()[command].get_default("device") == "auto"


@pytest.mark.parametrize("command", ["figures", "report", "rank", "meta", "per-class"])
def test_figure_resolution_is_the_same_for_every_command(command):
    from spcl_diag.cli.options import DEFAULT_DPI

    assert _leaves()[command].get_default("dpi") == DEFAULT_DPI


def test_the_package_faces_export_without_torch():
    code = ("import sys, spcl_diag.runs as r, spcl_diag.train as t, spcl_diag.curriculum as c, spcl_diag.runs.listing; "
            "assert 'torch' not in sys.modules, 'imported torch'; "
            "[getattr(m, n) for m in (r, t, c) for n in m.__all__]; print(sorted(r.__all__)[:3])")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['CleanResult', 'PerClassTables', 'RunRecorder']"
