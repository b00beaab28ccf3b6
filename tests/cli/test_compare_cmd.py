"""``spcl-diag compare results.csv``: results that another codebase produced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wilcoxon

from spcl_diag import compare
from spcl_diag.cli.main import main
from spcl_diag.runs.external import read_results


@pytest.fixture
def results_csv(tmp_path):
    rng = np.random.default_rng(3)
    base = rng.normal(0.62, 0.01, size=(2, 6))
    rows = [{"dataset": ds, "method": method, "seed": seed, "wf1": base[d, seed] + shift + rng.normal(0, 0.002)}
            for d, ds in enumerate(("iemocap", "meld")) for method, shift in (("baseline", 0.0), ("ours", 0.02))
            for seed in range(6)]
    path = tmp_path / "results.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_compare_command_reads_a_results_csv(results_csv, capsys):
    code = main(["compare", str(results_csv), "--metric", "wf1", "--baseline", "baseline",
                 "--arm-column", "method", "--by", "dataset", "--csv", str(results_csv.with_name("table.csv"))])
    assert code == 0
    printed = capsys.readouterr().out
    assert "iemocap" in printed and "meld" in printed and "ours" in printed
    table = pd.read_csv(results_csv.with_name("table.csv"))
    frame = pd.read_csv(results_csv)
    for _, row in table.iterrows():
        rows = frame[frame["dataset"] == row["dataset"]].sort_values("seed")
        ours, base = (rows[rows["method"] == m]["wf1"].to_numpy() for m in ("ours", "baseline"))
        assert row["n_seeds"] == 6
        assert row["diff"] == pytest.approx((ours - base).mean())
        assert row["p"] == pytest.approx(wilcoxon(ours, base, method="exact").pvalue)
    same = compare(frame, "wf1", baseline="baseline", arm_column="method", by=("dataset",), rng=np.random.default_rng(0))
    assert same["p"].tolist() == pytest.approx(table["p"].tolist())


def test_a_missing_column_names_it_and_the_file_errors_are_one_line(results_csv, tmp_path, capsys):
    assert main(["compare", str(results_csv), "--metric", "f1", "--baseline", "baseline",
                 "--arm-column", "method", "--by", "dataset"]) == 2
    err = capsys.readouterr().err
    assert "metric 'f1' is not a column; did you mean 'wf1'? Metric columns: wf1" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["compare", str(tmp_path / "none.csv"), "--metric", "wf1"]) == 2
    assert "none.csv: no such results file" in capsys.readouterr().err
    (tmp_path / "empty.csv").write_text("method,seed,wf1\n")
    with pytest.raises(ValueError, match="empty.csv: the results table has no rows"):
        read_results(tmp_path / "empty.csv")


def test_tables_of_the_command_state_its_level_and_its_test(results_csv, tmp_path, capsys):
    """Issue 25 item 8: a 90% table says 90% CI; a sign-flip table names the sign-flip test."""
    md, tex = tmp_path / "t.md", tmp_path / "t.tex"
    assert main(["compare", str(results_csv), "--metric", "wf1", "--baseline", "baseline", "--arm-column", "method",
                 "--by", "dataset", "--confidence-level", "0.9", "--test", "permutation", "--digits", "2",
                 "--markdown", str(md), "--latex", str(tex)]) == 0
    text = md.read_text()
    assert "Mean [90% CI]" in text and "95%" not in text and "the sign-flip permutation test cannot reach" in text
    assert r"[90\% CI]" in tex.read_text()
    assert "| baseline | 6 |" in text.replace("| iemocap ", "").replace("| meld ", "")  # the baseline's own row
    printed = capsys.readouterr().out
    assert "hl_shift" not in printed  # no Hodges-Lehmann shift without the signed-rank test
