"""``spcl-diag ls``: one line per run, filters, CSV."""

from __future__ import annotations

import csv
import io

import pytest

from spcl_diag.cli.main import main
from spcl_diag.runs import directory as rd
from spcl_diag.runs.listing import list_runs


@pytest.fixture
def folder(tmp_path):
    for i, (arm, status) in enumerate([("none", "ok"), ("spcl", "ok"), ("spcl", "failed")]):
        run_dir = tmp_path / f"run{i}"
        run_dir.mkdir()
        config = {"dataset": "synthetic", "backbone": "mmgcn", "modalities": "ta", "curriculum": arm,
                  "balancing": "none", "seed": i}
        rd.write_json(run_dir / rd.CONFIG, {"config": config})
        result = {"run_id": f"id{i}", "status": status, "wall_seconds": 1.5 + i}
        if status == "ok":
            result |= {"best_epoch": 3 + i, "test": {"joint": {"wf1": 0.5 + i / 10}}}
        rd.write_json(run_dir / rd.RESULT, result)
    return tmp_path


def test_ls_prints_one_line_per_run(folder, capsys):
    assert main(["ls", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run_id", "dataset", "backbone", "modalities", "curriculum", "balancing", "seed",
                                "status", "best_epoch", "test_wf1", "wall_seconds", "plugins"]
    assert lines[1].split() == ["id0", "synthetic", "mmgcn", "ta", "none", "none", "0", "ok", "3", "0.5000", "1.5", "-"]
    assert lines[3].split()[7:] == ["failed", "-", "-", "3.5", "-"]


def test_ls_filters_and_csv(folder, capsys):
    assert main(["ls", str(folder), "--status", "failed", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["run_id"] for r in rows] == ["id2"] and rows[0]["test_wf1"] == ""
    assert [r["run_id"] for r in list_runs(folder, {"curriculum": ["spcl"], "status": ["ok"]})] == ["id1"]
    assert [r["run_id"] for r in list_runs(folder, {"seed": ["0", "2"]})] == ["id0", "id2"]
    with pytest.raises(ValueError, match="valid filters are"):
        list_runs(folder, {"lr": ["1"]})
