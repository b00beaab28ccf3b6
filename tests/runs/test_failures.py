"""Honest failures of one run: NaN losses fail, stale folders are not trusted, setup errors are not cached."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from spcl_diag import load_runs, run
from spcl_diag.data.loaders import write_bundle
from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
from spcl_diag.errors import ConfigError, RunSetupError
from spcl_diag.runs import directory as rd
from spcl_diag.runs import execute, lifecycle
from spcl_diag.stats.comparison import compare


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Seeds 0 and 1 of the tiny config, trained once for the module."""
    from spcl_diag import RunConfig

    from ..conftest import TINY

    out = tmp_path_factory.mktemp("archive")
    base = RunConfig().with_overrides(TINY)
    results = [run(base.with_overrides({"seed": s}), out, device="cpu", progress=False) for s in (0, 1)]
    return out, base, results


def test_non_finite_loss_fails_the_run_with_epoch_and_reason(tmp_path, tiny_config):
    result = run(tiny_config.with_overrides({"train.lr": 1e30}), tmp_path, device="cpu", progress=False)
    assert result.status == "failed"
    assert result.result["failed_epoch"] == 1
    assert "NaN or infinite in epoch 1" in result.error
    tables = load_runs(tmp_path)
    assert tables.results["status"].tolist() == ["failed"]
    with pytest.raises(ValueError):  # no ok rows: nothing to compare
        compare(tables, "test_wf1", baseline="none", rng=np.random.default_rng(0))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"train.lr": float("inf")}, "train.lr must be a finite number > 0; got inf"),
        ({"train.lr": float("nan")}, "train.lr must be a finite number > 0"),
        ({"train.lr": -1e-3}, "train.lr must be a finite number > 0"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"model.hidden_dim": 0}, "model.hidden_dim must be a positive integer"),
        ({"train.epochs": 0}, "train.epochs must be a positive integer"),
        ({"train.epochs": 2.5}, "train.epochs must be an integer; got 2.5"),
        ({"train.epochs": [1, 2]}, r"train.epochs must be an integer; got \[1, 2\]"),
    ],
)
def test_bad_values_are_refused_when_the_config_is_read(tiny_config, tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        tiny_config.with_overrides(override)
    assert not any(tmp_path.iterdir())


def test_a_copied_folder_of_another_config_is_set_aside_and_retrained(tmp_path, archive):
    _out, base, (seed0, seed1) = archive
    shutil.copytree(seed0.path, tmp_path / seed0.run_id)
    shutil.copytree(seed0.path, tmp_path / seed1.run_id)  # seed 0's run under seed 1's id
    with pytest.warns(UserWarning, match=f"resolves to run {seed0.run_id}"):
        again = run(base.with_overrides({"seed": 1}), tmp_path, device="cpu", progress=False)
    assert again.status == "ok" and (tmp_path / f"{seed1.run_id}.stale-1").is_dir()
    assert sorted(load_runs(tmp_path).results["seed"]) == [0, 1]


def test_load_runs_leaves_out_a_copied_folder_with_a_warning(tmp_path, archive):
    _, _, (seed0, seed1) = archive
    shutil.copytree(seed0.path, tmp_path / seed1.run_id)
    with pytest.warns(UserWarning, match=f"{seed1.run_id} left out: its config.json is the config of run {seed0.run_id}"):
        assert load_runs(tmp_path).results.empty


def test_damaged_folders_are_named_skipped_and_retrained(tmp_path, archive):
    _out, base, (seed0, seed1) = archive
    for result in (seed0, seed1):
        shutil.copytree(result.path, tmp_path / result.run_id)
    result_json = tmp_path / seed0.run_id / rd.RESULT
    result_json.write_text(result_json.read_text()[:40])  # truncated
    (tmp_path / seed1.run_id / rd.EPOCHS).unlink()
    with pytest.warns(UserWarning) as caught:
        assert load_runs(tmp_path).results.empty
    assert {seed0.run_id, seed1.run_id} <= {part for w in caught for part in str(w.message).split("/")[-1].split()}
    with pytest.warns(UserWarning, match="incomplete or damaged"):
        assert run(base.with_overrides({"seed": 0}), tmp_path, device="cpu", progress=False).status == "ok"


def test_changed_data_file_changes_the_run_id(tmp_path, tiny_config):
    path = tmp_path / "data.npz"
    write_bundle(make_synthetic(SyntheticConfig(n_dialogues=16, min_length=3, max_length=6)), path)
    config = tiny_config.with_overrides({"dataset": str(path)})
    first = run(config, tmp_path / "runs", device="cpu", progress=False)
    write_bundle(make_synthetic(SyntheticConfig(n_dialogues=16, min_length=3, max_length=6, seed=1)), path)
    second = run(config, tmp_path / "runs", device="cpu", progress=False)
    assert first.status == second.status == "ok" and first.run_id != second.run_id
    stored = json.loads((second.path / rd.CONFIG).read_text())["identity"]
    assert stored["data_content"] != json.loads((first.path / rd.CONFIG).read_text())["identity"]["data_content"]


def test_a_run_that_cannot_start_raises_records_nothing_and_trains_once_fixed(tmp_path, tiny_config):
    path = tmp_path / "data" / "features.npz"
    config = tiny_config.with_overrides({"dataset": str(path)})
    with pytest.raises(RunSetupError, match=r"could not start: features.npz: file not found"):
        run(config, tmp_path / "runs", device="cpu", progress=False)
    assert not (tmp_path / "runs").exists()
    write_bundle(make_synthetic(SyntheticConfig(n_dialogues=16, min_length=3, max_length=6)), path)  # the fix
    assert run(config, tmp_path / "runs", device="cpu", progress=False).status == "ok"


def test_a_dangling_link_where_the_run_folder_goes_is_refused_before_training(tmp_path, tiny_config, monkeypatch):
    monkeypatch.setattr(execute, "train_run", lambda *a, **k: pytest.fail("trained"))
    os.symlink(tmp_path / "gone", tmp_path / tiny_config.run_id())
    with pytest.raises(RunSetupError, match="symbolic link to .*gone, which does not exist"):
        run(tiny_config, tmp_path, device="cpu", progress=False)


def test_a_read_only_archive_is_read_without_writing(tmp_path, archive, monkeypatch):
    _out, base, (seed0, _) = archive
    shutil.copytree(seed0.path, tmp_path / "ro" / seed0.run_id)
    before = sorted((p, p.stat().st_mtime_ns) for p in (tmp_path / "ro").rglob("*"))
    monkeypatch.setattr(lifecycle.os, "access", lambda path, mode: False)  # as a read-only mount (root ignores chmod)
    assert run(base.with_overrides({"seed": 0}), tmp_path / "ro", device="cpu").status == "ok"
    assert sorted((p, p.stat().st_mtime_ns) for p in (tmp_path / "ro").rglob("*")) == before
    with pytest.raises(RunSetupError, match="is not writable"):
        run(base.with_overrides({"seed": 5}), tmp_path / "ro", device="cpu")


def test_progress_says_what_happens_before_the_first_epoch(tmp_path, tiny_config, capsys, monkeypatch):
    monkeypatch.setattr(execute, "interactive", lambda: True)  # as in a terminal or a notebook
    run(tiny_config, tmp_path, device="cpu")
    err = capsys.readouterr().err
    loading, building = err.index("loading synthetic"), err.index("building late_fusion")
    assert loading < building < err.index("none seed 0")  # then the epoch bar


def test_progress_is_off_by_default_when_nobody_watches(tmp_path, tiny_config, capsys, monkeypatch):
    monkeypatch.setattr(execute, "interactive", lambda: False)
    run(tiny_config, tmp_path, device="cpu")
    assert capsys.readouterr().err == ""
