"""The spcl-diag command end to end on tiny configurations."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from spcl_diag.cli.main import main
from spcl_diag.runs.loading import load_runs

TINY_FLAGS = [
    "--epochs", "2",
    "--train.batch_size=4",
    "--data.synthetic.n_dialogues=12",
    "--data.synthetic.max_length=8",
    "--model.hidden_dim", "16",
    "--model.feedforward_dim=32",
]


@pytest.mark.parametrize(("curriculum", "modalities"), [("spcl", "tav"), ("random", "av"), ("anti", "t"), ("none", "v")])
def test_run_command_trains_and_prints_the_result(tmp_path, capsys, curriculum, modalities):
    code = main(["run", "--curriculum", curriculum, "--modalities", modalities, "--seed", "2",
                 "--device", "cpu", "--quiet", "--out", str(tmp_path), *TINY_FLAGS])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary["test"]) == {"joint", *modalities}
    results = load_runs(tmp_path).results.set_index("curriculum")
    assert results.loc[curriculum, "modalities"] == modalities
    assert results.loc[curriculum, "train.epochs"] == 2
    if curriculum in ("random", "anti"):
        assert "spcl" in results.index  # its paired spcl run was run first


def test_bad_override_is_a_clear_error(tmp_path, capsys):
    code = main(["run", "--out", str(tmp_path), "--train.lrr=1"])
    assert code == 2
    assert "unknown setting 'train.lrr'" in capsys.readouterr().err


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "spcl_diag.cli.main", "--help"], capture_output=True, text=True, check=True)
    for command in ("run", "demo"):
        assert command in out.stdout
