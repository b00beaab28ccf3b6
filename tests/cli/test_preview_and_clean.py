"""``batch --dry-run``, ``clean``, ``ls``'s plugins column and the one vocabulary of the flags (issues 27, 30)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from spcl_diag.batch import Grid, run_batch
from spcl_diag.batch.runner import plan_batch
from spcl_diag.cli.main import main
from spcl_diag.runs import directory as rd
from spcl_diag.runs.cleaning import clean_runs
from spcl_diag.runs.listing import list_runs

from ..conftest import TINY

ONE_EPOCH = {**TINY, "train.epochs": 1}


def _grid() -> Grid:
    return Grid(curriculum=("none", "spcl"), seed=(0, 1), overrides=ONE_EPOCH)


def test_dry_run_lists_the_runs_per_arm_and_cell_and_which_are_done_without_training(tmp_path, capsys):
    run_batch(Grid(curriculum=("none",), seed=(0,), overrides=ONE_EPOCH), tmp_path, device="cpu", progress=False)
    grid_file = tmp_path / "grid.toml"
    grid_file.write_text('curriculum = ["none", "spcl"]\nseed = [0, 1]\n[overrides]\n'
                         + "".join(f'"{k}" = {v}\n' for k, v in ONE_EPOCH.items()))
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["batch", str(grid_file), "--out", str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["dataset", "backbone", "modalities", "balancing", "arm", "runs", "done", "failed",
                              "to", "train"]
    rows = {line.split()[4]: line.split()[5:] for line in out[1:-1]}
    assert rows == {"none": ["2", "1", "0", "1"], "spcl": ["2", "0", "0", "2"]}
    assert out[-1].startswith("4 runs: 1 done, 0 failed, 3 to train; a batch would train 3 into")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing trained, nothing written


def test_plan_counts_a_recorded_failure_and_retry_failed_trains_it(tmp_path):
    grid = Grid(curriculum=("none",), seed=(0,), overrides={**ONE_EPOCH, "train.lr": 1e30})
    run_batch(grid, tmp_path, device="cpu", progress=False)
    plan = plan_batch(grid, tmp_path)
    assert [e["state"] for e in plan.runs] == ["failed"] and plan.to_train() == 0
    assert plan_batch(grid, tmp_path, retry_failed=True).to_train() == 1


def _fake_runs(tmp_path):
    """A failed run, a set-aside folder, a dead process's temporary and a live one's."""
    failed = tmp_path / "0123456789ab"
    failed.mkdir()
    (failed / rd.ERROR).write_text("Traceback\nValueError: boom\n")
    (failed / rd.CONFIG).write_text("{}")
    (tmp_path / "0123456789ab.stale-1").mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    (tmp_path / f".abcdefabcdef.tmp-{int(dead.stdout)}").mkdir()
    (tmp_path / f".abcdefabcdef.tmp-{os.getpid()}").mkdir()  # this process is alive: never touched
    return failed


def test_clean_lists_and_with_yes_removes_what_no_batch_uses_again(tmp_path, capsys):
    _fake_runs(tmp_path)
    assert main(["clean", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    kinds = [line.split()[0] for line in out.splitlines()[:-1]]
    assert sorted(kinds) == ["set-aside", "stale", "temporary"]  # the failure has no readable identity: stale
    assert out.splitlines()[-1].endswith("nothing removed; run again with --yes (remove=True) to remove them")
    assert len(list(tmp_path.iterdir())) == 4  # listing removed nothing
    assert main(["clean", str(tmp_path), "--yes"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == [f".abcdefabcdef.tmp-{os.getpid()}"]
    assert clean_runs(tmp_path).leftovers == ()


def test_clean_finds_failed_runs_and_runs_of_an_older_plugin_source(tmp_path, monkeypatch):
    plugin = tmp_path / "plug" / "tiny_plugin.py"
    plugin.parent.mkdir()
    plugin.write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(plugin.parent))
    out = tmp_path / "runs"
    overrides = {**ONE_EPOCH, "plugins": ["tiny_plugin"]}
    run_batch(Grid(curriculum=("none",), seed=(0,), overrides=overrides), out, device="cpu", progress=False)
    run_batch(Grid(curriculum=("none",), seed=(1,), overrides={**overrides, "train.lr": 1e30}), out,
              device="cpu", progress=False)
    assert [item.kind for item in clean_runs(out).leftovers] == ["failed"]
    listed = list_runs(out)
    assert {r["plugins"] for r in listed} == {f"tiny_plugin={listed[0]['plugins'].split('=')[1]}"}
    assert len(list_runs(out, {"plugins": ["tiny_plugin"]})) == 2 and list_runs(out, {"plugins": ["-"]}) == []
    plugin.write_text("X = 2\n")  # a new version of the plugin's source
    found = clean_runs(out, kinds=["old-plugin"]).leftovers
    assert [item.kind for item in found] == ["old-plugin"]
    assert "tiny_plugin" in found[0].reason


def test_compare_suggests_by_plugin_sources_when_plugin_versions_mix(tmp_path, monkeypatch, capsys):
    plugin = tmp_path / "plug" / "tiny_plugin2.py"
    plugin.parent.mkdir()
    monkeypatch.syspath_prepend(str(plugin.parent))
    out = tmp_path / "runs"
    grid = Grid(curriculum=("none", "spcl"), seed=(0,), overrides={**ONE_EPOCH, "plugins": ["tiny_plugin2"]})
    for version in (1, 2):
        plugin.write_text(f"X = {version}\n")
        run_batch(grid, out, device="cpu", progress=False)
    assert main(["compare", str(out), "--metric", "test_wf1"]) in (0, 2)
    err = capsys.readouterr().err
    assert "2 versions of their plugins' source: compare the versions apart (spcl-diag compare --by dataset " \
           "backbone modalities plugin_sources" in err
    assert main(["compare", str(out), "--metric", "test_wf1", "--by", "dataset", "backbone", "modalities",
                 "plugin_sources"]) == 0
    assert len({line.split()[3] for line in capsys.readouterr().out.splitlines()[1:] if line.strip()}) == 2


def test_ls_writes_csv_to_a_path_and_prints_it_with_format_csv(tmp_path, capsys):
    run_batch(Grid(curriculum=("none",), seed=(0,), overrides=ONE_EPOCH), tmp_path, device="cpu", progress=False)
    target = tmp_path / "runs.csv"
    assert main(["ls", str(tmp_path), "--csv", str(target)]) == 0
    assert pd.read_csv(target)["plugins"].isna().all()
    assert "plugins" in capsys.readouterr().out.splitlines()[0]
    assert main(["ls", str(tmp_path), "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("run_id,dataset,")
    assert main(["ls", str(tmp_path), "--csv"]) == 0  # the old flag: one release more, with a warning
    captured = capsys.readouterr()
    assert captured.out.startswith("run_id,dataset,")
    assert "spcl-diag: warning: ls --csv without a path is deprecated; use --format csv" in captured.err


def test_every_user_error_is_one_line_printed_by_main(tmp_path, capsys):
    frame = pd.DataFrame({"curriculum": ["none"] * 3, "seed": [0, 1, 2], "test_wf1": [0.5, 0.6, 0.55]})
    frame.to_csv(tmp_path / "r.csv", index=False)
    assert main(["compare", str(tmp_path / "r.csv"), "--metric", "test_wf1", "--by"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spcl-diag compare: error: no arm other than the baseline 'none'") and err.count("\n") == 1
    assert main(["compare", str(tmp_path / "r.csv"), "--metric", "test_f2"]) == 2
    assert capsys.readouterr().err.startswith("spcl-diag compare: error: ")


def test_compare_and_interaction_take_everything_after_metric_by_keyword():
    from spcl_diag.stats.comparison import compare

    frame = pd.DataFrame({"curriculum": ["none"] * 4 + ["spcl"] * 4, "seed": [0, 1, 2, 3] * 2,
                          "test_wf1": [0.5, 0.6, 0.55, 0.52, 0.56, 0.63, 0.58, 0.57]})
    by_keyword = compare(frame, "test_wf1", baseline="none", by=(), rng=np.random.default_rng(0))
    with pytest.warns(FutureWarning, match=r"compare\(\): pass baseline, arms, by by keyword"):
        by_position = compare(frame, "test_wf1", "none", None, (), rng=np.random.default_rng(0))
    pd.testing.assert_frame_equal(by_keyword, by_position)
    with pytest.raises(TypeError, match="multiple values for argument 'baseline'"):
        compare(frame, "test_wf1", "none", baseline="none", rng=np.random.default_rng(0))


def test_tune_returns_its_evaluation_comparison_and_batch_writes_nothing_for_a_dry_run(tmp_path):
    from spcl_diag.batch.tune import tune

    grid = {"curriculum": ["none", "spcl"], "overrides": ONE_EPOCH, "axes": {"train.lr": [1e-3]}}
    result = tune(grid, tmp_path, tune_seeds=1, eval_seeds=2, device="cpu", progress=False, rng=0)
    assert result.metric == "test_wf1"
    assert list(result.comparison["arm"]) == ["spcl"] and set(result.comparison["n_seeds"]) == {2}
    assert json.loads(result.path.read_text())["eval_run_ids"]


def test_batch_probe_and_log_reach_every_run(tmp_path, capsys):
    grid_file = tmp_path / "grid.toml"
    grid_file.write_text('curriculum = ["none"]\nseed = [0]\n[overrides]\n'
                         + "".join(f'"{k}" = {v}\n' for k, v in ONE_EPOCH.items()))
    out = tmp_path / "runs"
    assert main(["batch", str(grid_file), "--out", str(out), "--device", "cpu", "--quiet", "--probe",
                 "--log", "tensorboard"]) == 0
    assert "1 runs: 1 done" in capsys.readouterr().out
    (run_dir,) = [p for p in out.iterdir() if (p / rd.RESULT).is_file()]
    assert (run_dir / rd.PROBE).is_file() and (run_dir / "tensorboard").is_dir()
