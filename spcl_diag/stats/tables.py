r"""The one table writer of the statistics: terminal text, GitHub Markdown and LaTeX booktabs.

A :class:`Table` holds cells as text, footnote marks and footnotes; :func:`frame_table`
makes one from any DataFrame and :func:`~spcl_diag.stats.paper_table.paper_table` from a
:func:`~spcl_diag.stats.comparison.compare` result. :func:`render_text`,
:func:`render_markdown` and :func:`render_latex` write it. ``compare`` (command line and
``--latex``/``--markdown``), the report, ``rank`` and ``reproduce`` all print through here, so

* ``digits`` means one thing everywhere: decimals after the point. A p-value below
  :math:`10^{-\text{digits}}` reads ``<0.001`` (``digits=3``), never ``0.000``; ``-0.000``
  reads ``0.000``; a value that is not a number is an empty cell and :math:`\pm\infty`
  reads ``inf``/``-inf``;
* one escape table (:data:`LATEX_SPECIAL`) turns text into LaTeX.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Footnote symbols by name, as Markdown and as the LaTeX command (math mode).
SYMBOLS: dict[str, tuple[str, str]] = {"dagger": ("†", r"\dagger"), "ddagger": ("‡", r"\ddagger"), "S": ("§", r"\S")}
LATEX_SPECIAL: dict[str, str] = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "Δ": r"$\Delta$", "−": "$-$", "<": "$<$", ">": "$>$",
    "±": r"$\pm$", "∞": r"$\infty$", "†": r"$\dagger$", "‡": r"$\ddagger$", "§": r"\S{}",
}
#: Columns holding p-values (``p``, ``p_adjusted``, ``min_p``, ``friedman_p``, ...).
P_COLUMN = re.compile(r"^(p|p_.*|.*_p|min_p.*|pvalue.*)$")


@dataclass(frozen=True)
class Table:
    """Cells as text with their footnote marks.

    Attributes
    ----------
    header
        Column titles.
    rows
        Cells, one list per row.
    numeric
        Per column: right-aligned (numbers) or not.
    marks
        ``(row, column) -> symbol names`` (keys of :data:`SYMBOLS`) set after the cell.
    footnotes
        Symbol name (``""`` for a plain note) -> text, printed below the table in this order.
    caption
        Shown above a Markdown table and as the LaTeX ``\\caption``.
    """

    header: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    marks: dict[tuple[int, int], tuple[str, ...]] = field(default_factory=dict)
    footnotes: dict[str, str] = field(default_factory=dict)
    caption: str = ""


def number(value: object, digits: int) -> str:
    """``value`` with ``digits`` decimals; ``""`` when it is not a number.

    Examples
    --------
    >>> number(0.61234, 3), number(-0.0001, 3), number(float("nan"), 3), number(float("-inf"), 3), number(7, 3)
    ('0.612', '0.000', '', '-inf', '7')
    """
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def p_value(value: object, digits: int) -> str:
    """A p-value with ``digits`` decimals, ``<0.001`` (``digits=3``) below the last one shown.

    Examples
    --------
    >>> p_value(0.0312, 3), p_value(0.00024, 3), p_value(1.0, 2)
    ('0.031', '<0.001', '1.00')
    """
    text = number(value, digits)
    if text and float(value) < 10.0**-digits:  # type: ignore[arg-type]
        return f"<{10.0 ** -digits:.{digits}f}"
    return text


def interval(estimate: object, low: object, high: object, digits: int) -> str:
    """``estimate [low, high]``, or the estimate alone when a bound is missing."""
    centre, lo, hi = (number(v, digits) for v in (estimate, low, high))
    return f"{centre} [{lo}, {hi}]" if centre and lo and hi else centre


def latex_escape(text: str) -> str:
    r"""``text`` with LaTeX's special characters (and Δ, −, <, ±, ...) escaped.

    Examples
    --------
    >>> print(latex_escape("p_holm<0.05 & 5% Δ"))
    p\_holm$<$0.05 \& 5\% $\Delta$
    """
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in text)


def check_digits(digits: int) -> None:
    if int(digits) != digits or digits < 0:
        raise ValueError(f"digits must be an integer >= 0 (decimals); got {digits}.")


def frame_table(frame: pd.DataFrame, *, columns: Sequence[str] | None = None, digits: int = 3, caption: str = "") -> Table:
    """A :class:`Table` of ``frame``: numbers to ``digits`` decimals, p-value columns as :func:`p_value`.

    Examples
    --------
    >>> frame_table(pd.DataFrame({"arm": ["spcl"], "mean": [0.61234], "p": [0.0001]})).rows
    [['spcl', '0.612', '<0.001']]
    """
    check_digits(digits)
    shown = frame[list(columns)] if columns is not None else frame
    numeric = [pd.api.types.is_numeric_dtype(shown[c]) and shown[c].dtype != bool for c in shown.columns]
    cells = []
    for row in shown.itertuples(index=False):
        line = []
        for name, value, is_number in zip(shown.columns, row, numeric):
            if is_number or isinstance(value, (float, np.floating)):
                line.append(p_value(value, digits) if P_COLUMN.match(str(name)) else number(value, digits))
            else:
                line.append("" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value))
        cells.append(line)
    return Table([str(c) for c in shown.columns], cells, numeric, caption=caption)


def _with_marks(t: Table, i: int, j: int, cell: str, markdown: bool) -> str:
    names = t.marks.get((i, j), ()) if cell else ()
    if markdown:
        return cell + "".join(f" {SYMBOLS[n][0]}" for n in names)
    return latex_escape(cell) + (f"$^{{{''.join(SYMBOLS[n][1] for n in names)}}}$" if names else "")


def render_text(t: Table) -> str:
    """Fixed-width text for a terminal (numbers right-aligned), footnotes below.

    Examples
    --------
    >>> print(render_text(frame_table(pd.DataFrame({"arm": ["spcl", "random"], "p": [0.0312, 0.5]}))))
    arm        p
    spcl   0.031
    random 0.500
    """
    grid = [t.header, *[[c + "".join(SYMBOLS[n][0] for n in t.marks.get((i, j), ()) if c)
                         for j, c in enumerate(row)] for i, row in enumerate(t.rows)]]
    widths = [max(len(r[j]) for r in grid) for j in range(len(t.header))]
    lines = [" ".join((cell.rjust(w) if right else cell.ljust(w)) for cell, w, right in zip(r, widths, t.numeric)).rstrip()
             for r in grid]
    lines += [(f"{SYMBOLS[s][0]} " if s else "") + text for s, text in t.footnotes.items()]
    return "\n".join([t.caption, *lines] if t.caption else lines)


def render_markdown(t: Table, *, caption: str | None = None) -> str:
    """A GitHub Markdown table (``|`` in cells escaped), its caption in bold above, footnotes below.

    Examples
    --------
    >>> print(render_markdown(frame_table(pd.DataFrame({"verdict": ["a|b"], "mean": [0.61234]}))))
    | verdict | mean |
    |---|---:|
    | a\\|b | 0.612 |
    """
    title = caption if caption is not None else t.caption
    lines = [f"**{title}**", ""] if title else []
    lines += ["| " + " | ".join(h.replace("|", "\\|") for h in t.header) + " |",
              "|" + "|".join("---:" if right else "---" for right in t.numeric) + "|"]
    lines += ["| " + " | ".join(_with_marks(t, i, j, c.replace("|", "\\|"), True) for j, c in enumerate(row)) + " |"
              for i, row in enumerate(t.rows)]
    if t.footnotes:
        lines += ["", *[(f"{SYMBOLS[s][0]} " if s else "") + text for s, text in t.footnotes.items()]]
    return "\n".join(lines)


def render_latex(t: Table, *, caption: str | None = None, label: str | None = None, float_env: bool = True) -> str:
    r"""A booktabs ``tabular`` (in a ``table`` float unless ``float_env=False``), footnotes below the rule.

    Examples
    --------
    >>> print(render_latex(frame_table(pd.DataFrame({"arm": ["spcl"], "p_adjusted": [0.25]})), float_env=False))
    \begin{tabular}{lr}
    \toprule
    arm & p\_adjusted \\
    \midrule
    spcl & 0.250 \\
    \bottomrule
    \end{tabular}
    """
    n = len(t.header)
    lines = [rf"\begin{{tabular}}{{{''.join('r' if right else 'l' for right in t.numeric)}}}", r"\toprule",
             " & ".join(latex_escape(h) for h in t.header) + r" \\", r"\midrule"]
    lines += [" & ".join(_with_marks(t, i, j, c, False) for j, c in enumerate(row)) + r" \\" for i, row in enumerate(t.rows)]
    lines.append(r"\bottomrule")
    for symbol, text in t.footnotes.items():
        mark = f"$^{{{SYMBOLS[symbol][1]}}}$ " if symbol else ""
        lines.append(rf"\multicolumn{{{n}}}{{l}}{{\footnotesize {mark}{latex_escape(text)}}} \\")
    lines.append(r"\end{tabular}")
    title = caption if caption is not None else t.caption
    if not float_env:
        return "\n".join(lines)
    tail = ([rf"\caption{{{latex_escape(title)}}}"] if title else []) + ([rf"\label{{{label}}}"] if label else [])
    return "\n".join([r"\begin{table}", r"\centering", *lines, *tail, r"\end{table}"])


def format_table(table: pd.DataFrame, *, columns: Sequence[str] | None = None, digits: int = 3) -> str:
    """Fixed-width text of ``table`` (the :func:`summary_columns` of a compare table by default).

    Examples
    --------
    >>> print(format_table(pd.DataFrame({"arm": ["spcl"], "p": [0.0312]})))
    arm      p
    spcl 0.031
    """
    return render_text(frame_table(table, columns=columns if columns is not None else summary_columns(table), digits=digits))


def markdown_table(frame: pd.DataFrame, *, digits: int = 3) -> str:
    """A GitHub Markdown table of every column of ``frame`` (numbers to ``digits`` decimals)."""
    return render_markdown(frame_table(frame, digits=digits))


def to_latex(table: pd.DataFrame, *, columns: Sequence[str] | None = None, digits: int = 3,
             caption: str | None = None, label: str | None = None) -> str:
    r"""A booktabs ``tabular`` of ``table`` (the :func:`summary_columns` by default), in a ``table``
    float when ``caption`` or ``label`` is given; numbers to ``digits`` decimals, ``nan`` empty."""
    t = frame_table(table, columns=columns if columns is not None else summary_columns(table), digits=digits)
    return render_latex(t, caption=caption, label=label, float_env=caption is not None or label is not None)


#: The columns of a compare table shown on a terminal, after its group columns.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "arm", "n_seeds", "mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high", "hl_shift", "hl_low", "hl_high",
    "p", "p_adjusted", "min_p", "cohens_dz", "prob_improvement", "aso_eps_min", "verdict",
)


def summary_columns(table: pd.DataFrame) -> list[str]:
    """The group columns (those compare() did not add) and the :data:`SUMMARY_COLUMNS` present;
    every column of a frame that is not a compare table."""
    from spcl_diag.stats.comparison import COLUMNS

    if "arm" not in table.columns or "verdict" not in table.columns:
        return list(table.columns)
    groups = [c for c in table.columns if c not in COLUMNS]
    shown = [c for c in SUMMARY_COLUMNS if c in table.columns and not (c.startswith("hl_") and table[c].isna().all())]
    return [*groups, *shown]


__all__ = [
    "LATEX_SPECIAL", "SUMMARY_COLUMNS", "Table", "format_table", "frame_table", "interval", "latex_escape",
    "markdown_table", "number", "p_value", "render_latex", "render_markdown", "render_text", "summary_columns",
    "to_latex",
]
