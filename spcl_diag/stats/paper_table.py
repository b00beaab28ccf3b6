r"""A :func:`~spcl_diag.stats.compare.compare` table as a paper prints it: LaTeX booktabs or Markdown.

At most seven columns: the group (only the grouping values that differ between rows; the
constant ones go to the caption), arm, seeds, mean [CI], difference to the baseline [CI],
corrected p and Cohen's :math:`d_z`. Every number has the same number of decimals
(``digits``, three by default); a value that is not finite is left empty. Significance is a
footnote symbol, not a sentence: :math:`\dagger` on the difference when the corrected p is
below ``alpha``, :math:`\ddagger` on the p when the test could not have reached ``alpha``
with the seeds it had (the smallest attainable corrected p is above ``alpha``).

``spcl-diag compare --latex/--markdown`` and the report use these functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

SIGNIFICANT, UNREACHABLE = "dagger", "ddagger"
_MARKDOWN_SYMBOL = {SIGNIFICANT: "†", UNREACHABLE: "‡"}
GROUP_KEYS: tuple[str, ...] = ("metric", "dataset", "backbone", "modalities", "balancing")


@dataclass(frozen=True)
class PaperTable:
    """Cells as text; ``marks[(row, column)]`` names the footnote symbol of a cell."""

    header: list[str]
    rows: list[list[str]]
    marks: dict[tuple[int, int], str]
    footnotes: dict[str, str]  # symbol (or "" for a plain note) -> text
    caption: str  # the grouping values shared by every row


def _number(value: object, digits: int) -> str:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return ""
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.000"


def _interval(mean: object, low: object, high: object, digits: int) -> str:
    centre, lo, hi = (_number(v, digits) for v in (mean, low, high))
    return f"{centre} [{lo}, {hi}]" if centre and lo and hi else centre


def _p_value(p: object, digits: int) -> str:
    text = _number(p, digits)
    if text and float(p) < 10.0 ** -digits:  # type: ignore[arg-type]
        return f"<{10.0 ** -digits:.{digits}f}"
    return text


def _single(table: pd.DataFrame, column: str, default: str) -> str:
    values = table[column].dropna().unique() if column in table else []
    return str(values[0]) if len(values) == 1 else default


def paper_table(
    table: pd.DataFrame, *, digits: int = 3, alpha: float = 0.05, confidence_level: float = 0.95
) -> PaperTable:
    """The cells, marks and footnotes of the paper table of a :func:`compare` result.

    Examples
    --------
    >>> cmp = pd.DataFrame({"metric": ["test_wf1"], "dataset": ["iemocap"], "arm": ["spcl"], "baseline": ["none"],
    ...     "n_seeds": [10], "mean": [0.6123], "ci_low": [0.60], "ci_high": [0.625], "diff": [0.0123],
    ...     "diff_low": [0.004], "diff_high": [0.0201], "p_adjusted": [0.00195], "min_p_adjusted": [0.00195],
    ...     "cohens_dz": [1.21], "correction": ["holm"], "test": ["wilcoxon"], "higher_is_better": [True]})
    >>> t = paper_table(cmp)
    >>> t.header
    ['Arm', 'Seeds', 'Mean [95% CI]', 'Δ vs none [95% CI]', 'p (holm)', 'd_z']
    >>> t.rows
    [['spcl', '10', '0.612 [0.600, 0.625]', '0.012 [0.004, 0.020]', '0.002', '1.210']]
    >>> t.marks, t.caption
    ({(0, 3): 'dagger'}, 'test_wf1, iemocap')
    """
    if digits < 0:
        raise ValueError(f"digits must be >= 0; got {digits}.")
    missing = [c for c in ("arm", "n_seeds", "mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high")
               if c not in table]
    if missing:
        raise ValueError(f"not a compare() table: columns {', '.join(missing)} are missing.")
    groups = [c for c in GROUP_KEYS if c in table]
    varying = [c for c in groups if table[c].astype(str).nunique() > 1]
    constant = [_single(table, c, "") for c in groups if c not in varying]
    baseline = _single(table, "baseline", "baseline")
    correction = _single(table, "correction", "")
    level = f"{100 * confidence_level:g}%"
    header = [" / ".join(varying)] if varying else []
    header += ["Arm", "Seeds", f"Mean [{level} CI]", f"Δ vs {baseline} [{level} CI]",
               f"p ({correction})" if correction and correction != "none" else "p", "d_z"]
    offset = 1 if varying else 0
    rows, marks = [], {}
    p_column = "p_adjusted" if "p_adjusted" in table else "p"
    for i, rec in enumerate(table.to_dict("records")):
        row = [" / ".join(str(rec[c]) for c in varying)] if varying else []
        row += [
            str(rec["arm"]),
            str(int(rec["n_seeds"])) if _number(rec["n_seeds"], 0) else "",
            _interval(rec["mean"], rec["ci_low"], rec["ci_high"], digits),
            _interval(rec["diff"], rec["diff_low"], rec["diff_high"], digits),
            _p_value(rec.get(p_column), digits),
            _number(rec.get("cohens_dz"), digits),
        ]
        rows.append(row)
        p, min_p = rec.get(p_column), rec.get("min_p_adjusted", rec.get("min_p"))
        if _number(p, 20) and float(p) < alpha:
            marks[(i, offset + 3)] = SIGNIFICANT
        elif _number(min_p, 20) and float(min_p) > alpha:
            marks[(i, offset + 4)] = UNREACHABLE
    test = _single(table, "test", "paired")
    footnotes = {"": f"Mean over seeds; Δ = arm − {baseline}, paired by seed; d_z = Cohen's d of the paired differences."}
    direction = _single(table, "higher_is_better", "")
    if direction in ("True", "False"):
        footnotes[""] += " Higher is better." if direction == "True" else " Lower is better."
    if SIGNIFICANT in marks.values():
        footnotes[SIGNIFICANT] = f"{correction or 'uncorrected'} p < {alpha:g} ({test} test)."
    if UNREACHABLE in marks.values():
        footnotes[UNREACHABLE] = f"with these seeds the {test} test cannot reach p < {alpha:g}."
    return PaperTable(header=header, rows=rows, marks=marks, footnotes=footnotes, caption=", ".join(c for c in constant if c))


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
                  "Δ": r"$\Delta$", "−": "$-$", "<": "$<$"}


def _tex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def to_booktabs(
    table: pd.DataFrame, *, digits: int = 3, alpha: float = 0.05, caption: str | None = None, label: str | None = None
) -> str:
    r"""A ``table`` float with a booktabs ``tabular`` of :func:`paper_table`, footnotes below the rule.

    Examples
    --------
    >>> cmp = pd.DataFrame({"arm": ["spcl"], "baseline": ["none"], "n_seeds": [5], "mean": [0.61], "ci_low": [0.6],
    ...     "ci_high": [0.62], "diff": [0.01], "diff_low": [0.0], "diff_high": [0.02], "p_adjusted": [0.0625],
    ...     "min_p_adjusted": [0.0625], "cohens_dz": [1.0], "correction": ["holm"], "test": ["wilcoxon"]})
    >>> print(to_booktabs(cmp, digits=2))  # doctest: +NORMALIZE_WHITESPACE
    \begin{table}
    \centering
    \begin{tabular}{lrrrrr}
    \toprule
    Arm & Seeds & Mean [95\% CI] & $\Delta$ vs none [95\% CI] & p (holm) & d\_z \\
    \midrule
    spcl & 5 & 0.61 [0.60, 0.62] & 0.01 [0.00, 0.02] & 0.06$^{\ddagger}$ & 1.00 \\
    \bottomrule
    \multicolumn{6}{l}{\footnotesize Mean over seeds; $\Delta$ = arm $-$ none, paired by seed; d\_z = Cohen's d of the paired differences.} \\
    \multicolumn{6}{l}{\footnotesize $^{\ddagger}$ with these seeds the wilcoxon test cannot reach p $<$ 0.05.} \\
    \end{tabular}
    \end{table}
    """
    t = paper_table(table, digits=digits, alpha=alpha)
    n = len(t.header)
    align = ("l" * (n - 5)) + "r" * 5
    lines = [r"\begin{table}", r"\centering", rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(_tex(h) for h in t.header) + r" \\", r"\midrule"]
    for i, row in enumerate(t.rows):
        cells = [_tex(c) + (rf"$^{{\{t.marks[(i, j)]}}}$" if (i, j) in t.marks and c else "") for j, c in enumerate(row)]
        lines.append(" & ".join(cells) + r" \\")
    lines.append(r"\bottomrule")
    for symbol, text in t.footnotes.items():
        mark = rf"$^{{\{symbol}}}$ " if symbol else ""
        lines.append(rf"\multicolumn{{{n}}}{{l}}{{\footnotesize {mark}{_tex(text)}}} \\")
    lines.append(r"\end{tabular}")
    title = caption if caption is not None else t.caption
    if title:
        lines.append(rf"\caption{{{_tex(title)}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    return "\n".join([*lines, r"\end{table}"])


def to_markdown(table: pd.DataFrame, *, digits: int = 3, alpha: float = 0.05, caption: str | None = None) -> str:
    """A GitHub Markdown table of :func:`paper_table` with its footnotes below.

    Examples
    --------
    >>> cmp = pd.DataFrame({"arm": ["spcl"], "baseline": ["none"], "n_seeds": [3], "mean": [0.61], "ci_low": [0.6],
    ...     "ci_high": [0.62], "diff": [0.01], "diff_low": [0.0], "diff_high": [0.02], "p_adjusted": [0.01]})
    >>> print(to_markdown(cmp, digits=2))
    | Arm | Seeds | Mean [95% CI] | Δ vs none [95% CI] | p | d_z |
    |---|---:|---:|---:|---:|---:|
    | spcl | 3 | 0.61 [0.60, 0.62] | 0.01 [0.00, 0.02] † | 0.01 |  |
    <BLANKLINE>
    Mean over seeds; Δ = arm − none, paired by seed; d_z = Cohen's d of the paired differences.
    † uncorrected p < 0.05 (paired test).
    """
    t = paper_table(table, digits=digits, alpha=alpha)
    n = len(t.header)
    lines = []
    title = caption if caption is not None else t.caption
    if title:
        lines += [f"**{title}**", ""]
    lines += ["| " + " | ".join(t.header) + " |", "|" + "|".join(["---"] * (n - 5) + ["---:"] * 5) + "|"]
    for i, row in enumerate(t.rows):
        cells = [c.replace("|", "\\|") + (f" {_MARKDOWN_SYMBOL[t.marks[(i, j)]]}" if (i, j) in t.marks and c else "")
                 for j, c in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [(f"{_MARKDOWN_SYMBOL[s]} " if s else "") + text for s, text in t.footnotes.items()]
    return "\n".join(lines)


__all__ = ["PaperTable", "paper_table", "to_booktabs", "to_markdown"]
