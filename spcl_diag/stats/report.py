"""Plain-text and LaTeX renderings of a :func:`~spcl_diag.stats.compare.compare` table.

The LaTeX writer is self-contained (``pandas`` needs ``jinja2`` for ``to_latex``, which is
not a dependency of this package).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

SUMMARY_COLUMNS: tuple[str, ...] = (
    "arm", "n_seeds", "mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high",
    "p", "p_adjusted", "min_p", "cohens_dz", "prob_improvement", "aso_eps_min", "verdict",
)
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters.

    Examples
    --------
    >>> latex_escape("p_holm<0.05 & 5%")
    'p\\\\_holm<0.05 \\\\& 5\\\\%'
    """
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _cell(value: object, digits: int) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}g}"
    return str(value)


def summary_columns(table: pd.DataFrame) -> list[str]:
    """The group columns followed by the :data:`SUMMARY_COLUMNS` present in ``table``."""
    from spcl_diag.stats.compare import COLUMNS

    groups = [c for c in table.columns if c not in COLUMNS]
    return [*groups, *(c for c in SUMMARY_COLUMNS if c in table.columns)]


def format_table(table: pd.DataFrame, *, columns: Sequence[str] | None = None, digits: int = 3) -> str:
    """Fixed-width text of ``table`` (the summary columns by default) for a terminal.

    Examples
    --------
    >>> print(format_table(pd.DataFrame({"arm": ["spcl"], "p": [0.0312]})))
     arm      p
    spcl 0.0312
    """
    shown = table[list(columns) if columns is not None else summary_columns(table)]
    text = shown.apply(lambda col: col.map(lambda v: _cell(v, digits)))
    return text.to_string(index=False)


def to_latex(
    table: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    digits: int = 3,
    caption: str | None = None,
    label: str | None = None,
) -> str:
    r"""A ``tabular`` (in a ``table`` float when ``caption`` or ``label`` is given) of ``table``.

    Parameters
    ----------
    table
        A :func:`compare` table or any frame.
    columns
        Columns to write (default: :func:`summary_columns`).
    digits
        Significant digits of floats; ``nan`` is written as an empty cell.
    caption, label
        Optional ``\caption`` and ``\label``.

    Returns
    -------
    str
        LaTeX source using ``booktabs`` rules (``\toprule`` ...).

    Examples
    --------
    >>> print(to_latex(pd.DataFrame({"arm": ["spcl"], "p_adjusted": [0.25]})))
    \begin{tabular}{lr}
    \toprule
    arm & p\_adjusted \\
    \midrule
    spcl & 0.25 \\
    \bottomrule
    \end{tabular}
    """
    shown = table[list(columns) if columns is not None else summary_columns(table)]
    align = "".join("r" if pd.api.types.is_numeric_dtype(shown[c]) and shown[c].dtype != bool else "l" for c in shown.columns)
    lines = [rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(latex_escape(str(c)) for c in shown.columns) + r" \\", r"\midrule"]
    for row in shown.itertuples(index=False):
        lines.append(" & ".join(latex_escape(_cell(v, digits)) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption is None and label is None:
        return "\n".join(lines)
    wrapped = [r"\begin{table}", r"\centering", *lines]
    if caption is not None:
        wrapped.append(rf"\caption{{{latex_escape(caption)}}}")
    if label is not None:
        wrapped.append(rf"\label{{{label}}}")
    return "\n".join([*wrapped, r"\end{table}"])


__all__ = ["SUMMARY_COLUMNS", "format_table", "latex_escape", "summary_columns", "to_latex"]
