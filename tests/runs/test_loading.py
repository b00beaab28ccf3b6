"""Loading runs: the code version of each run, and a warning when a folder mixes versions."""

from __future__ import annotations

import json
import warnings

import pytest

from spcl_diag import load_runs, run
from spcl_diag.runs import directory as rd


def _rewrite_commit(run_dir, commit: str) -> None:
    path = run_dir / rd.CONFIG
    metadata = json.loads(path.read_text())
    metadata["git_commit"] = commit
    path.write_text(json.dumps(metadata))


def test_results_carry_the_code_version_and_mixed_versions_warn(tmp_path, tiny_config):
    first = run(tiny_config.with_overrides({"seed": 0}), tmp_path, device="cpu")
    second = run(tiny_config.with_overrides({"seed": 1}), tmp_path, device="cpu")
    _rewrite_commit(first.path, "a" * 40)
    _rewrite_commit(second.path, "a" * 40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one version: no warning
        tables = load_runs(tmp_path)
    assert set(tables.results["git_commit"]) == {"a" * 40}
    assert tables.results["package_version"].notna().all()

    _rewrite_commit(second.path, "b" * 40)
    with pytest.warns(UserWarning, match=r"2 versions of the code \(git commits aaaaaaaaaa \(1 run\), bbbbbbbbbb \(1 run\)\)"):
        tables = load_runs(tmp_path)
    assert sorted(tables.results["git_commit"]) == ["a" * 40, "b" * 40]
