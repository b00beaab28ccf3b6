"""Batches fail honestly: grids checked when read, dead workers, read-only archives, cluster executors."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest

from spcl_diag.batch import Grid, load_grid, make_executor, run_batch
from spcl_diag.batch import executors as ex
from spcl_diag.batch.locking import LOCK_DIR
from spcl_diag.errors import ConfigError

from .conftest import TINY


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('seed = ["zero"]', "seed values must be integers >= 0; got 'zero'"),
        ("seed = [-1]", "seed values must be integers >= 0; got -1"),
        ('seed = [0]\n[overrides]\n"train.epochs" = [1, 2]', r"\[overrides\] 'train.epochs' = \[1, 2\].*\[\[variants\]\]"),
        ('seed = [0]\n[overrides]\n"train.lr" = 0.0', "train.lr must be a finite number > 0"),
    ],
)
def test_bad_grid_values_are_refused_before_anything_is_written(tmp_path, text, message):
    path = tmp_path / "grid.toml"
    path.write_text(f'curriculum = ["none"]\n{text}\n')
    with pytest.raises(ConfigError, match=message):
        run_batch(load_grid(path), tmp_path / "runs", progress=False)
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow  # about 90 s on 2 cores: the broken pool's workers take long to go away
def test_a_dead_worker_counts_finished_runs_done_and_retries_the_rest(tmp_path, monkeypatch):
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    shutil.copy(Path(__file__).with_name("dying_worker.py"), helpers / "spcl_dying_worker.py")
    monkeypatch.syspath_prepend(str(helpers))  # spawned workers get this sys.path and import it by name
    dying = importlib.import_module("spcl_dying_worker")
    monkeypatch.setattr(ex, "_execute_in_worker", dying.execute_then_die_once)
    grid = Grid(curriculum=("none", "spcl"), seed=(0, 1), overrides=TINY)
    out = tmp_path / "runs"
    summary = run_batch(grid, out, executor=make_executor("process", jobs=2), device="cpu", progress=False)
    assert (out / "died-once").exists()
    assert summary.counts == {"done": 4, "skipped": 0, "failed": 0}


def test_finished_runs_are_skipped_without_locks_or_writes(tmp_path, tiny_grid):
    run_batch(tiny_grid, tmp_path / "runs", device="cpu", progress=False)
    archive = tmp_path / "archive"
    shutil.copytree(tmp_path / "runs", archive, ignore=shutil.ignore_patterns(LOCK_DIR, "grids"))
    (archive / LOCK_DIR).write_text("")  # a lock could not even be created here
    summary = run_batch(tiny_grid, archive, device="cpu", progress=False)
    assert summary.counts == {"done": 0, "skipped": 4, "failed": 0}


def test_slurm_without_slurm_is_refused_and_offers_the_local_clusters(monkeypatch):
    pytest.importorskip("submitit", reason="the slurm executor needs the optional submitit package")
    monkeypatch.setattr(ex.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="no SLURM on this machine.*--cluster local.*--cluster debug"):
        make_executor("slurm")
    assert make_executor("slurm", cluster="local").cluster == "local"


def test_cluster_and_ray_options_come_from_the_command_line():
    from spcl_diag.cli.batch_cmd import CLUSTERS, EXECUTOR_NAMES, executor_options
    from spcl_diag.cli.main import build_parser

    assert EXECUTOR_NAMES == ex.EXECUTORS and CLUSTERS == ex.SUBMITIT_CLUSTERS
    args = build_parser().parse_args(["batch", "g.toml", "--executor", "ray", "--ray-address", "auto",
                                      "--cpus-per-run", "2", "--gpus-per-run", "0.5"])
    assert executor_options(args) == ("ray", {"address": "auto", "num_cpus": 2.0, "num_gpus": 0.5})
    args = build_parser().parse_args(["batch", "g.toml", "--executor", "slurm", "--cluster", "debug"])
    assert executor_options(args)[1]["cluster"] == "debug"


def test_a_cuda_run_on_ray_asks_for_a_gpu():
    assert ex.ray_gpus("cuda", None, 0) == 1.0
    assert ex.ray_gpus("cpu", None, 8) == 0.0


def test_an_output_folder_that_cannot_be_written_is_one_line_with_status_2(tmp_path, capsys):
    from spcl_diag.cli.main import main

    grid = tmp_path / "grid.toml"
    grid.write_text('curriculum = ["none"]\nseed = [0]\n')
    (tmp_path / "file").write_text("")
    assert main(["batch", str(grid), "--out", str(tmp_path / "file" / "runs"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("spcl-diag batch: error: cannot write to the output folder") and len(err.splitlines()) == 1
