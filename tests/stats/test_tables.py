"""The one table writer: one meaning of digits, one LaTeX escape table, marks and footnotes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from spcl_diag.stats.paper_table import paper_table
from spcl_diag.stats.tables import (
    LATEX_SPECIAL,
    Table,
    format_table,
    frame_table,
    latex_escape,
    markdown_table,
    render_latex,
    render_markdown,
    render_text,
    to_latex,
)

FRAME = pd.DataFrame({"arm": ["spcl_a", "b&c"], "mean": [0.612345, 12.5], "p_adjusted": [0.00012, 0.5],
                      "n": [3, 10], "d": [float("inf"), float("nan")]})


def test_digits_are_decimals_in_every_writer():
    """Issue 25 item 8: one module renders every table, with one meaning of digits (decimals)."""
    for digits in (1, 2, 4):
        texts = [format_table(FRAME, digits=digits), markdown_table(FRAME, digits=digits),
                 to_latex(FRAME, digits=digits)]
        for text in texts:
            assert f"{0.612345:.{digits}f}" in text and f"{12.5:.{digits}f}" in text, (digits, text)
            assert f"{10.0 ** -digits:.{digits}f}" in text  # the p-value below the last decimal shown
            numbers = re.findall(r"\d+\.\d+", text)
            assert all(len(n.split(".")[1]) == digits for n in numbers), text
    assert frame_table(FRAME).rows == [["spcl_a", "0.612", "<0.001", "3", "inf"], ["b&c", "12.500", "0.500", "10", ""]]


def test_one_escape_table_for_the_paper_and_the_plain_tables():
    text = "p_holm<0.05 & 5% Δ −1 ^~#$ {x} \\"
    assert latex_escape(text) == "".join(LATEX_SPECIAL.get(c, c) for c in text)
    tex = to_latex(pd.DataFrame({"arm": [text]}))
    assert latex_escape(text) in tex
    cmp = pd.DataFrame({"arm": [text], "baseline": ["none"], "n_seeds": [3], "mean": [0.6], "ci_low": [0.5],
                        "ci_high": [0.7], "diff": [0.1], "diff_low": [0.0], "diff_high": [0.2]})
    assert latex_escape(text) in render_latex(paper_table(cmp))


def test_marks_and_footnotes_in_all_three_writers():
    t = Table(["Arm", "Δ"], [["spcl", "0.010"], ["x", ""]], [False, True], {(0, 1): ("dagger", "S"), (1, 1): ("S",)},
              {"": "plain note.", "dagger": "significant.", "S": "disagree."}, caption="cap")
    md = render_markdown(t)
    assert "| spcl | 0.010 † § |" in md and "| x |  |" in md and md.endswith("† significant.\n§ disagree.")
    tex = render_latex(t, label="tab:x")
    assert r"0.010$^{\dagger\S}$" in tex and r"\caption{cap}" in tex and r"\label{tab:x}" in tex
    assert r"$^{\S}$ disagree." in tex
    text = render_text(t)
    assert text.splitlines()[0] == "cap" and "0.010†§" in text and "§ disagree." in text


def test_terminal_compare_table_hides_empty_shift_columns():
    frame = pd.DataFrame({"arm": ["spcl"], "verdict": ["ok"], "hl_shift": [np.nan], "p": [0.2]})
    assert "hl_shift" not in format_table(frame)
    assert "hl_shift" in format_table(frame.assign(hl_shift=0.01))
