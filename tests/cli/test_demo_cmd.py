"""``spcl-diag demo`` prints what README.md's "What the demo prints" shows (issue 30 item 9)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from spcl_diag import demo as demo_module
from spcl_diag.cli.main import main
from spcl_diag.demo import DEMO_ARMS, DemoResult, arm_summary

README = Path(__file__).resolve().parents[2] / "README.md"


def _fake_demo(out: str, **_) -> DemoResult:
    """A finished demo's result without training: the summary of made-up scores of 3 arms x 3 seeds."""
    rng = np.random.default_rng(0)
    results = pd.DataFrame([{"status": "ok", "curriculum": arm, "seed": seed,
                             **{m: rng.uniform(0.3, 0.8) for m in ("test_wf1", "test_acc_t", "test_acc_a", "test_acc_v")}}
                            for arm in DEMO_ARMS for seed in range(3)])
    return DemoResult(SimpleNamespace(results=results), arm_summary(results), Path(out).resolve() / "report.md", 58.4)


def _shape(text: str) -> list[str]:
    """Lines with every number replaced by # and runs of spaces by one."""
    return [" ".join(re.sub(r"\d+(\.\d+)?", "#", line).split()) for line in text.strip("\n").splitlines()]


def test_the_demo_prints_what_the_readme_shows_with_paths_relative_to_here(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo_module, "run_demo", _fake_demo)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--out", str(tmp_path / "demo_runs")]) == 0  # an absolute path inside the current folder
    printed = capsys.readouterr().out
    section = README.read_text(encoding="utf-8").split("## What the demo prints", 1)[1]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    assert _shape(printed) == _shape(shown), printed
    assert str(tmp_path) not in printed and "Report: demo_runs/report.md" in printed


def test_a_folder_outside_the_current_one_is_printed_absolute(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo_module, "run_demo", _fake_demo)
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    assert main(["demo", "--out", "../elsewhere"]) == 0
    assert f"9 runs in {tmp_path / 'elsewhere'} (58 s)" in capsys.readouterr().out
