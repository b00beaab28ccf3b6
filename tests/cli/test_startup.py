"""The command starts light, and a failure the user can fix is one line with exit status 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from spcl_diag.cli.main import COMMAND_MODULES, main

HEAVY = ("torch", "pandas", "scipy", "statsmodels", "matplotlib")
COMMANDS = [m.rsplit(".", 1)[1].removesuffix("_cmd") for m in COMMAND_MODULES]


def _heavy_imports(argv: list[str]) -> list[str]:
    code = (
        "import sys\nfrom spcl_diag.cli.main import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print('heavy:' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("heavy:"), done.stderr
    return [m for m in line.removeprefix("heavy:").split(",") if m]


@pytest.mark.parametrize("argv", [["--help"], ["--version"], *([c, "--help"] for c in COMMANDS)])
def test_help_and_version_import_no_heavy_module(argv):
    assert _heavy_imports(argv) == []


def _one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_a_bad_value_is_one_line_and_creates_nothing(tmp_path, capsys):
    err = _one_line_error(capsys, ["run", "--out", str(tmp_path / "runs"), "--train.lr=inf"])
    assert "train.lr must be a finite number > 0; got inf" in err
    assert not (tmp_path / "runs").exists()


def test_jobs_zero_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["batch", str(tmp_path / "grid.toml"), "--jobs", "0"])
    assert info.value.code == 2
    assert "--jobs: must be a positive integer" in capsys.readouterr().err


def test_missing_data_is_one_line_and_not_recorded(tmp_path, capsys):
    argv = ["run", "--dataset", "iemocap-text", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "runs"),
            "--quiet", "--epochs", "1"]
    err = _one_line_error(capsys, argv)
    assert "could not start: data folder" in err and "does not exist" in err
    assert not (tmp_path / "runs").exists()


def test_an_output_folder_that_cannot_be_created_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    err = _one_line_error(capsys, ["run", "--out", str(tmp_path / "file" / "runs"), "--quiet"])
    assert "cannot create the output folder" in err


def test_a_training_failure_prints_its_reason_and_how_to_retry(tmp_path, capsys):
    argv = ["run", "--out", str(tmp_path), "--quiet", "--epochs", "2", "--train.lr=1e30", "--train.batch_size=4",
            "--data.synthetic.n_dialogues=16", "--model.hidden_dim=16", "--model.feedforward_dim=32"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "failed in epoch 1: NonFiniteLossError: the training loss became NaN" in out and "--retry-failed" in out


@pytest.mark.parametrize("extra", [[], ["--jobs", "2"], ["--stack", "arms", "--jobs", "2"]],
                         ids=["local", "process", "stacked"])
def test_rerunning_a_finished_batch_imports_no_heavy_module(tmp_path, extra):
    import json

    from ..conftest import TINY

    grid = tmp_path / "grid.toml"
    overrides = "\n".join(f'"{k}" = {json.dumps(v)}' for k, v in TINY.items())
    grid.write_text(f'curriculum = ["none", "spcl", "random"]\nseed = [0]\n\n[overrides]\n{overrides}\n')
    argv = ["batch", str(grid), "--out", str(tmp_path / "runs"), "--device", "cpu", "--quiet"]
    assert main(argv) == 0
    assert _heavy_imports([*argv, *extra]) == []
