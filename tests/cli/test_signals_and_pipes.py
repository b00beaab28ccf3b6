"""How the command ends when the user stops it: Ctrl-C in a run, a closed pipe, a warning."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

from spcl_diag.cli import ls_cmd
from spcl_diag.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def test_ctrl_c_in_a_run_is_one_line_exit_130_and_leaves_no_temporary(tmp_path):
    out = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "spcl_diag.cli.main", "run", "--out", str(out), "--quiet", "--epochs", "500",
         "--data.synthetic.n_dialogues=16", "--model.hidden_dim=8"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    for _ in range(300):  # training starts once the temporary folder exists
        if out.is_dir() and any(".tmp-" in p.name for p in out.iterdir()):
            break
        time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError(f"the run never started: {proc.communicate()[1]}")
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "spcl-diag run: interrupted; the unfinished run was not saved"
    assert list(out.iterdir()) == []


def test_a_closed_pipe_ends_quietly(tmp_path):
    (tmp_path / "runs").mkdir()
    # the reader (`true`, like `head` when it has its lines) leaves before ls writes
    proc = subprocess.run(f"{sys.executable} -m spcl_diag.cli.main ls {tmp_path / 'runs'} --csv | true; "
                          "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", capture_output=True,
                          text=True, env=ENV)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
    assert proc.returncode in (0, 141)


def test_warnings_are_one_line_without_source(monkeypatch, capsys, tmp_path):
    def warn(args):
        warnings.warn("something odd", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(ls_cmd, "handle", warn)
    assert main(["ls", str(tmp_path)]) == 0
    assert capsys.readouterr().err == "spcl-diag: warning: something odd\n"
