"""rank, reproduce and interaction from the command line on results tables: compare()'s verdict words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spcl_diag.cli.main import main

pytest.importorskip("autorank")
pytest.importorskip("baycomp")


def test_interaction_command_prints_the_corrected_verdict(tmp_path, capsys):
    values = {("none", "none"): [0.60, 0.61, 0.62], ("spcl", "none"): [0.63, 0.65, 0.64],
              ("none", "ogm-ge"): [0.64, 0.63, 0.66], ("spcl", "ogm-ge"): [0.65, 0.64, 0.66]}
    rows = [{"dataset": d, "backbone": "late_fusion", "modalities": "ta", "curriculum": c, "balancing": b, "seed": s,
             "test_wf1": v + (0.01 if d == "d1" else 0.0)}
            for d in ("d0", "d1") for (c, b), vs in values.items() for s, v in enumerate(vs)]
    path = tmp_path / "results.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    assert main(["interaction", str(path), "--csv", str(tmp_path / "out.csv")]) == 0
    text = capsys.readouterr().out
    assert "d0/late_fusion/ta curriculum: spcl vs none x balancing: ogm-ge vs none: the effect of spcl is smaller" in text
    assert "(p_holm=" in text and (tmp_path / "out.csv").is_file()
    assert pd.read_csv(tmp_path / "out.csv")["n_comparisons"].tolist() == [2, 2]
    assert main(["interaction", str(path), "--metric", "test_acc"]) == 2
    assert "interaction: column(s) 'test_acc' missing" in capsys.readouterr().err


def test_rank_command_prints_the_two_arm_test_in_compares_words(tmp_path, capsys):
    diffs = [0.02, 0.03, 0.015, 0.025, 0.04, 0.035, 0.018, -0.001]
    rows = [{"dataset": f"d{c}", "backbone": "late_fusion", "modalities": "tav", "curriculum": arm, "seed": 0,
             "status": "ok", "test_wf1": 0.55 + 0.01 * c + (d if arm == "spcl" else 0.0)}
            for c, d in enumerate(diffs) for arm in ("none", "spcl")]
    path = tmp_path / "results.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    assert main(["rank", str(path)]) == 0
    text = capsys.readouterr().out
    assert "two-sided exact Wilcoxon signed-rank: spcl vs none: better (p=0.016)" in text
    assert "p = 0.0078" not in text and "spcl better (P=" in text and "8 cells)" in text


def test_reproduce_command_refuses_fractions_read_as_percent(tmp_path, capsys):
    runs = pd.DataFrame({"dataset": "D", "backbone": "mmgcn", "modalities": "tav", "curriculum": "none", "seed": [0, 1, 2],
                         "status": "ok", "test_wf1": [0.7406, 0.7391, 0.7421]})
    runs.to_csv(tmp_path / "results.csv", index=False)
    table = "backbone,dataset,modalities,arm,metric,value,source\nmmgcn,D,tav,none,test_wf1,0.7406,a test\n"
    (tmp_path / "published.csv").write_text(table)
    assert main(["reproduce", str(tmp_path / "results.csv"), "--published", str(tmp_path / "published.csv")]) == 2
    assert "look like fractions" in capsys.readouterr().err
    (tmp_path / "published.csv").write_text(table.replace(",source\n", ",source,unit\n").replace("a test\n", "a test,fraction\n"))
    assert main(["reproduce", str(tmp_path / "results.csv"), "--published", str(tmp_path / "published.csv")]) == 0
    text = capsys.readouterr().out
    assert "mmgcn/D/tav/none test_wf1: no significant difference from the published 74.06 (p_holm=" in text
    assert np.isfinite(float(text.split("p_holm=")[1].split(")")[0]))
