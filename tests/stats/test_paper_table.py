"""The paper table of a compare() result: columns, precision, footnote symbols."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from spcl_diag.stats.compare import compare
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
