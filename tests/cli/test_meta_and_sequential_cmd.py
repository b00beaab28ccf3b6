"""``spcl-diag meta`` and ``spcl-diag batch --until-decided`` end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from spcl_diag.cli.main import main
from spcl_diag.stats.meta_analysis import meta_analysis


def _results_csv(path):
    rng = np.random.default_rng(0)
    rows = [{"dataset": "synthetic", "backbone": b, "modalities": m, "curriculum": arm, "seed": s,
             "test_wf1": 0.6 + (0.02 if arm == "spcl" else 0.0) + rng.normal(0, 0.01)}
            for b in ("late_fusion", "mmgcn") for m in ("tav", "ta") for arm in ("none", "spcl") for s in range(5)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_meta_prints_the_pooled_effect_and_writes_the_forest_plot(tmp_path, capsys):
    csv = _results_csv(tmp_path / "results.csv")
    figure = tmp_path / "forest.png"
    assert main(["meta", str(csv), "--moderators", "backbone", "--figure", str(figure)]) == 0
    out = capsys.readouterr().out
    expected = meta_analysis(str(csv), "test_wf1", moderators=("backbone",))
    assert expected.summary() in out
    assert "synthetic/mmgcn/ta" in out and "leave one cell out:" in out and "backbone_mmgcn" in out
    assert figure.stat().st_size > 0


def test_meta_user_errors_are_one_line(tmp_path, capsys):
    csv = _results_csv(tmp_path / "results.csv")
    assert main(["meta", str(csv), "--arm", "random"]) == 2
    assert "0 usable cell" in capsys.readouterr().err


def test_batch_until_decided_runs_rounds_and_writes_sequential_json(tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text('curriculum = ["none", "spcl"]\nseed = [0]\n[overrides]\n"train.epochs" = 1\n'
                    '"data.synthetic.n_dialogues" = 12\n"model.hidden_dim" = 8\n')
    out = tmp_path / "runs"
    code = main(["batch", str(grid), "--out", str(out), "--device", "cpu", "--quiet", "--until-decided",
                 "--max-seeds", "2", "--seeds-per-round", "1", "--rope", "0.01", "--stack", "arms"])
    assert code == 0
    text = capsys.readouterr().out
    record = json.loads((out / "sequential.json").read_text())
    assert record["rope"] == 0.01 and record["bounds"] == [-1.0, 1.0]
    (comparison,) = record["comparisons"]
    assert comparison["n_seeds"] == 2 and f"{comparison['decision']} after 2 seeds" in text
    assert "1 comparisons after 2 rounds" in text
