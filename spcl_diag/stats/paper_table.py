r"""A :func:`~spcl_diag.stats.comparison.compare` table as a paper prints it: LaTeX booktabs or Markdown.

At most seven columns: the group (only the grouping values that differ between rows; the
constant ones go to the caption), arm, seeds, mean [CI], difference to the baseline [CI],
corrected p and Cohen's :math:`d_z`. Each group starts with the baseline's own row (its
mean and interval over the seeds paired with the arms). The interval's level is read from
the table (its ``confidence_level`` column). Every number has ``digits`` decimals
(:mod:`spcl_diag.stats.tables`); a value that is not finite is left empty. Significance is a
footnote symbol, not a sentence: :math:`\dagger` on the difference when the corrected p is
below ``alpha``, :math:`\ddagger` on the p when the test could not have reached ``alpha``
with the seeds it had (the smallest attainable corrected p is above ``alpha``), and
:math:`\S` on the difference when the test and the interval of the mean difference
disagree about 0 (the ``interval_disagrees`` column). The footnotes name the test that was run.

``spcl-diag compare --latex/--markdown`` and the report use these functions.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from spcl_diag.stats.tables import (
    Table,
    check_digits,
    interval,
    number,
    p_value,
    render_latex,
    render_markdown,
)

SIGNIFICANT, UNREACHABLE, DISAGREE = "dagger", "ddagger", "S"


def _single(table: pd.DataFrame, column: str, default: str) -> str:
    values = table[column].dropna().unique() if column in table else []
    return str(values[0]) if len(values) == 1 else default


def names_of_tests(table: pd.DataFrame) -> str:
    """The tests a compare table ran, named without their details (``exact Wilcoxon signed-rank``,
    ``sign-flip permutation``, ``paired t``), joined by ``/``; ``paired`` when unknown."""
    if "test" not in table:
        return "paired"
    names = dict.fromkeys(re.sub(r"\s*\(.*\)$", "", str(m)) for m in table["test"].dropna())
    return " / ".join(names) or "paired"


def _level(table: pd.DataFrame) -> str:
    """``"95% CI"`` from the table's ``confidence_level`` column (or attrs); ``"CI"`` when unknown."""
    values = table["confidence_level"].dropna().unique() if "confidence_level" in table else []
    level = values[0] if len(values) == 1 else table.attrs.get("confidence_level") if not len(values) else None
    return f"{100 * float(level):g}% CI" if level is not None else "CI"


def _finite_below(value: object, alpha: float) -> bool:
    return bool(number(value, 20)) and float(value) < alpha  # type: ignore[arg-type]


def _baseline_rows(part: list[dict[str, Any]], digits: int) -> list[tuple[str, str]]:
    """(seeds, mean [CI]) of the baseline in one group: one per distinct set of paired seeds."""
    seen: dict[tuple[str, str], None] = {}
    for rec in part:
        if "baseline_low" in rec and number(rec.get("n_seeds"), 0):
            seen[(str(int(rec["n_seeds"])), interval(rec["baseline_mean"], rec["baseline_low"], rec["baseline_high"],
                                                     digits))] = None
    return list(seen)


def paper_table(table: pd.DataFrame, *, digits: int = 3, alpha: float = 0.05) -> Table:
    """The cells, marks and footnotes of the paper table of a :func:`compare` result.

    Examples
    --------
    >>> cmp = pd.DataFrame({"metric": ["test_wf1"], "dataset": ["iemocap"], "arm": ["spcl"], "baseline": ["none"],
    ...     "n_seeds": [10], "mean": [0.6123], "ci_low": [0.60], "ci_high": [0.625], "baseline_mean": [0.6],
    ...     "baseline_low": [0.59], "baseline_high": [0.61], "diff": [0.0123], "diff_low": [0.004],
    ...     "diff_high": [0.0201], "p_adjusted": [0.00195], "min_p_adjusted": [0.00195], "cohens_dz": [1.21],
    ...     "correction": ["holm"], "test": ["exact Wilcoxon signed-rank (wilcox)"], "higher_is_better": [True],
    ...     "confidence_level": [0.9]})
    >>> t = paper_table(cmp)
    >>> t.header
    ['Arm', 'Seeds', 'Mean [90% CI]', 'Δ vs none [90% CI]', 'p (holm)', 'd_z']
    >>> t.rows
    [['none', '10', '0.600 [0.590, 0.610]', '', '', ''], ['spcl', '10', '0.612 [0.600, 0.625]', '0.012 [0.004, 0.020]', '0.002', '1.210']]
    >>> t.marks, t.caption
    ({(1, 3): ('dagger',)}, 'test_wf1, iemocap')
    """
    check_digits(digits)
    from spcl_diag.stats.comparison import COLUMNS

    missing = [c for c in ("arm", "n_seeds", "mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high")
               if c not in table]
    if missing:
        raise ValueError(f"not a compare() table: columns {', '.join(missing)} are missing.")
    groups = [c for c in ("metric", *(c for c in table.columns if c not in COLUMNS)) if c in table]
    varying = [c for c in groups if table[c].astype(str).nunique() > 1]
    constant = [_single(table, c, "") for c in groups if c not in varying]
    baseline = _single(table, "baseline", "baseline")
    correction = _single(table, "correction", "")
    level = _level(table)
    header = [" / ".join(varying)] if varying else []
    header += ["Arm", "Seeds", f"Mean [{level}]", f"Δ vs {baseline} [{level}]",
               f"p ({correction})" if correction and correction != "none" else "p", "d_z"]
    offset = 1 if varying else 0
    rows: list[list[str]] = []
    marks: dict[tuple[int, int], tuple[str, ...]] = {}
    p_column = "p_adjusted" if "p_adjusted" in table else "p"
    records = table.to_dict("records")
    keys = [tuple(str(rec[c]) for c in varying) for rec in records]
    for key in dict.fromkeys(keys):
        part = [rec for rec, k in zip(records, keys) if k == key]
        label = [" / ".join(key)] if varying else []
        several = len(_baseline_rows(part, digits)) > 1
        for seeds, mean in _baseline_rows(part, digits):
            name = f"{baseline} (seeds paired with {', '.join(str(r['arm']) for r in part if str(int(r['n_seeds'])) == seeds)})"
            rows.append([*label, name if several else baseline, seeds, mean, "", "", ""])
        for rec in part:
            i = len(rows)
            rows.append([
                *label, str(rec["arm"]), number(rec["n_seeds"], 0),
                interval(rec["mean"], rec["ci_low"], rec["ci_high"], digits),
                interval(rec["diff"], rec["diff_low"], rec["diff_high"], digits),
                p_value(rec.get(p_column), digits), number(rec.get("cohens_dz"), digits),
            ])
            min_p = rec.get("min_p_adjusted", rec.get("min_p"))
            on_diff = []
            if _finite_below(rec.get(p_column), alpha):
                on_diff.append(SIGNIFICANT)
            elif number(min_p, 20) and float(min_p) > alpha:
                marks[(i, offset + 4)] = (UNREACHABLE,)
            if rec.get("interval_disagrees") in (True, "True"):  # bool, numpy bool, or text from a CSV
                on_diff.append(DISAGREE)
            if on_diff:
                marks[(i, offset + 3)] = tuple(on_diff)
    test = names_of_tests(table)
    footnotes = {"": f"Mean over the paired seeds; Δ = arm − {baseline}, paired by seed; d_z = Cohen's d of the "
                     "paired differences."}
    direction = _single(table, "higher_is_better", "")
    if direction in ("True", "False"):
        footnotes[""] += " Higher is better." if direction == "True" else " Lower is better."
    used = {name for names in marks.values() for name in names}
    if SIGNIFICANT in used:
        footnotes[SIGNIFICANT] = f"{correction or 'uncorrected'} p < {alpha:g} ({test} test)."
    if UNREACHABLE in used:
        footnotes[UNREACHABLE] = f"with these seeds the {test} test cannot reach p < {alpha:g}."
    if DISAGREE in used:
        footnotes[DISAGREE] = (f"the {test} test and the {level.removesuffix(' CI')} interval of the mean difference "
                               "disagree about 0 (the test is about the centre of the differences, the interval "
                               "about their mean; see the Hodges-Lehmann shift in the full table).")
    numeric = [False] * offset + [False, True, True, True, True, True]
    return Table(header, rows, numeric, marks, footnotes, ", ".join(c for c in constant if c))


def to_booktabs(
    table: pd.DataFrame, *, digits: int = 3, alpha: float = 0.05, caption: str | None = None, label: str | None = None
) -> str:
    r"""A ``table`` float with a booktabs ``tabular`` of :func:`paper_table`, footnotes below the rule.

    Examples
    --------
    >>> cmp = pd.DataFrame({"arm": ["spcl"], "baseline": ["none"], "n_seeds": [5], "mean": [0.61], "ci_low": [0.6],
    ...     "ci_high": [0.62], "diff": [0.01], "diff_low": [0.0], "diff_high": [0.02], "p_adjusted": [0.0625],
    ...     "min_p_adjusted": [0.0625], "cohens_dz": [1.0], "correction": ["holm"], "confidence_level": [0.95],
    ...     "test": ["exact Wilcoxon signed-rank (wilcox)"]})
    >>> print(to_booktabs(cmp, digits=2))  # doctest: +NORMALIZE_WHITESPACE
    \begin{table}
    \centering
    \begin{tabular}{lrrrrr}
    \toprule
    Arm & Seeds & Mean [95\% CI] & $\Delta$ vs none [95\% CI] & p (holm) & d\_z \\
    \midrule
    spcl & 5 & 0.61 [0.60, 0.62] & 0.01 [0.00, 0.02] & 0.06$^{\ddagger}$ & 1.00 \\
    \bottomrule
    \multicolumn{6}{l}{\footnotesize Mean over the paired seeds; $\Delta$ = arm $-$ none, paired by seed; d\_z = Cohen's d of the paired differences.} \\
    \multicolumn{6}{l}{\footnotesize $^{\ddagger}$ with these seeds the exact Wilcoxon signed-rank test cannot reach p $<$ 0.05.} \\
    \end{tabular}
    \end{table}
    """
    return render_latex(paper_table(table, digits=digits, alpha=alpha), caption=caption, label=label)


def to_markdown(table: pd.DataFrame, *, digits: int = 3, alpha: float = 0.05, caption: str | None = None) -> str:
    """A GitHub Markdown table of :func:`paper_table` with its footnotes below.

    Examples
    --------
    >>> cmp = pd.DataFrame({"arm": ["spcl"], "baseline": ["none"], "n_seeds": [3], "mean": [0.61], "ci_low": [0.6],
    ...     "ci_high": [0.62], "diff": [0.01], "diff_low": [0.0], "diff_high": [0.02], "p_adjusted": [0.01],
    ...     "test": ["sign-flip permutation (exact, 8 patterns)"]})
    >>> print(to_markdown(cmp, digits=2))
    | Arm | Seeds | Mean [CI] | Δ vs none [CI] | p | d_z |
    |---|---:|---:|---:|---:|---:|
    | spcl | 3 | 0.61 [0.60, 0.62] | 0.01 [0.00, 0.02] † | 0.01 |  |
    <BLANKLINE>
    Mean over the paired seeds; Δ = arm − none, paired by seed; d_z = Cohen's d of the paired differences.
    † uncorrected p < 0.05 (sign-flip permutation test).
    """
    return render_markdown(paper_table(table, digits=digits, alpha=alpha), caption=caption)


__all__ = ["names_of_tests", "paper_table", "to_booktabs", "to_markdown"]
