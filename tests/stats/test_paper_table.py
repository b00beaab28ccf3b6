"""The paper table of a compare() result: columns, precision, footnote symbols."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from spcl_diag.stats.comparison import compare
from spcl_diag.stats.intervals import t_interval
from spcl_diag.stats.paper_table import SIGNIFICANT, paper_table, to_booktabs, to_markdown


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for backbone in ("mmgcn", "late_fusion"):
        for seed in range(8):
            base = 0.6 + rng.normal(0, 0.01)
            for arm, shift in (("none", 0.0), ("spcl", 0.03), ("random", 0.0)):
                rows.append({"dataset": "iemocap", "backbone": backbone, "modalities": "tav", "curriculum": arm,
                             "seed": seed, "test_wf1": base + shift + rng.normal(0, 0.005)})
    return compare(pd.DataFrame(rows), "test_wf1", rng=np.random.default_rng(1))


def test_columns_precision_and_marks_follow_the_numbers(table):
    t = paper_table(table, digits=2)
    assert len(t.header) <= 8 and t.header[0] == "backbone" and t.caption == "test_wf1, iemocap, tav"
    numbers = [n for row in t.rows for cell in row[3:] for n in re.findall(r"-?\d+\.\d+", cell)]
    assert numbers and all(len(n.split(".")[1]) == 2 for n in numbers)  # one precision throughout
    arm_rows = [i for i, row in enumerate(t.rows) if row[1] != "none"]
    assert len(arm_rows) == len(table)
    for i, rec in zip(arm_rows, table.to_dict("records")):
        significant = rec["p_adjusted"] < 0.05
        assert (SIGNIFICANT in t.marks.get((i, 4), ())) == significant, rec  # the dagger sits on the difference
        expected = f"{rec['diff']:.2f}"
        assert t.rows[i][4].startswith((expected.lstrip("-") if float(expected) == 0 else expected) + " [")
    assert any(SIGNIFICANT in t.marks.get((i, 4), ()) for i in arm_rows)  # spcl is +0.03 on 8 seeds


def test_latex_and_markdown_carry_no_verdict(table):
    tex, md = to_booktabs(table, label="tab:wf1"), to_markdown(table, digits=4)
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex and r"\label{tab:wf1}" in tex
    assert r"$^{\dagger}$" in tex and "†" in md
    for text in (tex, md):
        assert not re.search(r"better than|worse than|significant(ly)?\b|verdict", text, re.IGNORECASE)
    header = md.splitlines()[2]
    assert header.count("|") - 1 <= 8
    assert re.search(r"\d\.\d{4} \[", md)


def test_unreachable_significance_is_marked_on_p():
    few = pd.DataFrame({"arm": ["spcl"], "baseline": ["none"], "n_seeds": [3], "mean": [0.6], "ci_low": [0.5],
                        "ci_high": [0.7], "diff": [0.1], "diff_low": [0.0], "diff_high": [0.2], "p_adjusted": [0.25],
                        "min_p_adjusted": [0.25], "test": ["wilcoxon"]})
    t = paper_table(few)
    assert t.marks == {(0, 4): ("ddagger",)} and "cannot reach p < 0.05" in t.footnotes["ddagger"]
    tiny = few.assign(diff=-0.0001, diff_low=-0.0004, diff_high=0.0002)
    assert paper_table(tiny).rows[0][3] == "0.000 [0.000, 0.000]"  # never "-0.000"
    with pytest.raises(ValueError, match="not a compare"):
        paper_table(pd.DataFrame({"arm": ["x"]}))


def _frame(n_seeds: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = []
    for seed in range(n_seeds):
        base = 0.6 + rng.normal(0, 0.01)
        for arm, shift in (("none", 0.0), ("spcl", 0.03)):
            rows.append({"dataset": "iemocap", "curriculum": arm, "seed": seed, "test_wf1": base + shift + rng.normal(0, 0.005)})
    return pd.DataFrame(rows)


def test_tables_state_the_level_they_were_made_with():
    """Issue 25 item 8: compare(confidence_level=0.90) tables said "95% CI"."""
    table = compare(_frame(), "test_wf1", by=("dataset",), rng=np.random.default_rng(0), confidence_level=0.90)
    md, tex = to_markdown(table), to_booktabs(table)
    assert "Mean [90% CI]" in md and "Δ vs none [90% CI]" in md and "95%" not in md
    assert r"Mean [90\% CI]" in tex and "95" not in tex
    assert "90% CI" in to_markdown(table.copy().reset_index(drop=True))  # the level travels with the rows, not attrs
    assert "[90% CI]" in to_markdown(pd.read_csv(pd.io.common.StringIO(table.to_csv(index=False))))


@pytest.mark.parametrize(("test", "name"), [("permutation", "sign-flip permutation"), ("t", "paired t"),
                                            ("wilcoxon", "exact Wilcoxon signed-rank")])
def test_footnotes_name_the_test_that_was_run(test, name):
    """Issue 25 item 8: sign-flip tables said "paired test"."""
    two = pd.concat([_frame(8), _frame(10).assign(dataset="meld")])  # 256 and 1024 sign patterns
    table = compare(two, "test_wf1", by=("dataset",), rng=np.random.default_rng(0), test=test)
    md = to_markdown(table)
    assert f"({name} test)" in md and "(paired test)" not in md


def test_the_baseline_has_its_own_row():
    """Issue 25 item 9: the baseline's mean and interval over the paired seeds, first in its group."""
    frame = _frame()
    table = compare(frame, "test_wf1", by=("dataset",), rng=np.random.default_rng(0))
    t = paper_table(table)
    base = t_interval(frame.loc[frame["curriculum"] == "none", "test_wf1"])
    assert t.rows[0] == ["none", "8", f"{base.estimate:.3f} [{base.low:.3f}, {base.high:.3f}]", "", "", ""]
    assert t.rows[1][0] == "spcl" and len(t.rows) == 2
    tex = to_booktabs(table)
    assert f"none & 8 & {base.estimate:.3f} [" in tex and tex.count(r" \\") == 5  # header, none, spcl, 2 footnotes


def test_baseline_rows_per_group_and_per_seed_set(table):
    t = paper_table(table)
    assert [row[:2] for row in t.rows] == [["late_fusion", "none"], ["late_fusion", "random"], ["late_fusion", "spcl"],
                                          ["mmgcn", "none"], ["mmgcn", "random"], ["mmgcn", "spcl"]]
    uneven = table.copy()
    uneven.loc[0, ["n_seeds", "baseline_mean"]] = [7, 0.5]
    names = [row[1] for row in paper_table(uneven).rows if row[1].startswith("none")]
    assert names[:2] == ["none (seeds paired with random)", "none (seeds paired with spcl)"]


def test_disagreement_is_marked_in_the_table():
    """Issue 25 item 6: the row whose test and interval disagree carries a section mark and a footnote."""
    base = 0.6 + np.random.default_rng(0).normal(0, 0.01, 12)
    d = np.array([0.01] * 11 + [-0.08])
    frame = pd.DataFrame({"curriculum": ["none"] * 12 + ["spcl"] * 12, "seed": list(range(12)) * 2,
                          "test_wf1": np.concatenate([base, base + d])})
    table = compare(frame, "test_wf1", by=(), rng=np.random.default_rng(0))
    t = paper_table(table)
    assert t.marks[(1, 3)] == ("dagger", "S") and "disagree about 0" in t.footnotes["S"]
    assert "† §" in to_markdown(table) and r"$^{\dagger\S}$" in to_booktabs(table)
