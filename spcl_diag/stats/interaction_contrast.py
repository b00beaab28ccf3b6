r"""``interaction``: the 2 x 2 interaction contrast of a factorial design, seed by seed.

In a grid crossing two factors (say ``curriculum`` in {none, spcl} and ``balancing`` in
{none, ogm-ge}) with paired seeds, the question "does SPCL add anything on top of OGM-GE?" is
the interaction contrast per seed :math:`s`,

.. math:: \delta_s = (y_{s}(a_1, b_1) - y_{s}(a_0, b_1)) - (y_{s}(a_1, b_0) - y_{s}(a_0, b_0)),

the effect of :math:`a` (``spcl`` vs ``none``) in the presence of :math:`b_1` minus its effect
at :math:`b_0`. Its mean gets a Student-t interval (:func:`~spcl_diag.stats.intervals.t_interval`)
and the two effects a paired test over seeds (:func:`~spcl_diag.stats.paired_tests.paired_test`;
the paired t test of the effects is the one-sample t test of :math:`\delta`).

As in :func:`~spcl_diag.stats.comparison.compare`, the groups (``by``) are one family, corrected
(Holm by default); a group with fewer than two seeds or every contrast zero is not tested and
not counted; the verdict follows the sign of the mean contrast and says when the test's own
direction points the other way (:mod:`spcl_diag.stats.verdict`); and runs that mix tuning and
evaluation seeds are refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from spcl_diag._deprecation import keyword_only
from spcl_diag.stats._common import check_confidence_level, check_rng
from spcl_diag.stats.comparison import check_seed_roles, results_frame
from spcl_diag.stats.intervals import t_interval
from spcl_diag.stats.multiple import (
    CORRECTIONS,
    Correction,
    adjust_pvalues,
    attainable_adjusted_pvalues,
)
from spcl_diag.stats.paired_tests import PAIRED_TESTS, PairedTest, nonzero_differences, paired_test
from spcl_diag.stats.verdict import TEST_NAMES, verdict

Factor = tuple[str, str, str]  # (column, level 0, level 1)

COLUMNS: tuple[str, ...] = (
    "metric", "a", "b", "n_seeds", "seeds", "effect_a_at_b0", "effect_a_at_b1", "interaction",
    "ci_low", "ci_high", "confidence_level", "test", "statistic", "p", "p_adjusted", "correction",
    "n_comparisons", "min_p", "min_p_adjusted", "verdict", "note",
)


@keyword_only("a", "b")
def interaction(
    runs: Any,
    metric: str,
    *,
    a: Factor = ("curriculum", "none", "spcl"),
    b: Factor = ("balancing", "none", "ogm-ge"),
    rng: np.random.Generator,
    by: Sequence[str] = ("dataset", "backbone", "modalities"),
    pair_on: str = "seed",
    test: PairedTest = "t",
    confidence_level: float = 0.95,
    alpha: float = 0.05,
    correction: Correction = "holm",
) -> pd.DataFrame:
    r"""Interaction contrast of factors ``a`` and ``b`` on ``metric``, per group, over paired seeds.

    Parameters
    ----------
    runs
        :class:`~spcl_diag.runs.loading.RunTables`, its ``results`` frame, or a folder of runs
        (rows whose ``status`` is not ``ok`` are ignored).
    metric
        The column to contrast, e.g. ``test_wf1``.
    a, b
        ``(column, level_0, level_1)`` of each factor.
    rng
        The :class:`numpy.random.Generator` of the sign-flip test (unused by the others).
    by
        Columns that define the groups (those present in the frame are used).
    pair_on
        The column that pairs runs; only seeds with all four cells count.
    test
        ``"t"`` (default), ``"wilcoxon"`` or ``"permutation"``: the paired test of the effect
        of ``a`` at ``b_1`` against its effect at ``b_0``.
    confidence_level
        Coverage of the t interval of the mean contrast.
    alpha
        Level of the verdict (after correction).
    correction
        ``"holm"`` (default), ``"bh"``, ``"bonferroni"`` or ``"none"`` over the groups: one
        interaction per group is one comparison of the family.

    Returns
    -------
    pandas.DataFrame
        One row per group: the ``by`` columns and :data:`COLUMNS`; ``effect_a_at_b0`` and
        ``effect_a_at_b1`` are the mean effects of ``a``, ``interaction`` their difference
        (the mean of :math:`\delta_s`) with ``ci_low``/``ci_high``, ``p`` and ``p_adjusted``
        over ``n_comparisons`` tested groups, ``min_p`` (the smallest p the test can reach
        with these seeds; for the rank and sign-flip tests, with the non-zero contrasts) and
        ``min_p_adjusted``, a verdict in :func:`~spcl_diag.stats.comparison.compare`'s words
        and a ``note``.

    Examples
    --------
    >>> frame = pd.DataFrame({
    ...     "curriculum": ["none", "spcl"] * 6, "balancing": ["none"] * 6 + ["ogm-ge"] * 6,
    ...     "seed": [0, 0, 1, 1, 2, 2] * 2,
    ...     "test_wf1": [.60, .63, .61, .65, .62, .64, .64, .65, .63, .64, .66, .66]})
    >>> row = interaction(frame, "test_wf1", by=(), rng=np.random.default_rng(0)).iloc[0]
    >>> [round(float(row[c]), 3) for c in ("effect_a_at_b0", "effect_a_at_b1", "interaction")]
    [0.03, 0.007, -0.023]
    >>> row["verdict"]
    'the effect of spcl is smaller with ogm-ge than with none (p_holm=0.02)'
    """
    check_rng(rng)
    check_confidence_level(confidence_level)
    if test not in PAIRED_TESTS:
        raise ValueError(f"test must be one of {', '.join(PAIRED_TESTS)}; got {test!r}.")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}; got {correction!r}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha}.")
    frame = results_frame(runs)
    by = [c for c in ([by] if isinstance(by, str) else list(by)) if c in frame.columns]
    missing = [c for c in (a[0], b[0], pair_on, metric) if c not in frame.columns]
    if missing:
        raise ValueError(f"interaction: column(s) {', '.join(map(repr, missing))} missing; columns are {', '.join(frame.columns)}.")
    if "status" in frame.columns:
        frame = frame[frame["status"].astype(str) == "ok"]
    check_seed_roles(frame, "interaction")
    cells = {(i, j): (a[1 + i], b[1 + j]) for i in (0, 1) for j in (0, 1)}
    frame = frame[frame[a[0]].astype(str).isin(a[1:]) & frame[b[0]].astype(str).isin(b[1:])]
    key = [*by, a[0], b[0], pair_on]
    if frame.duplicated(key).any():
        raise ValueError(f"interaction: several runs share ({', '.join(key)}); add the differing column to by= or filter first.")
    records = []
    for group, rows in (frame.groupby(by, dropna=False, sort=True) if by else [((), frame)]):
        group = group if isinstance(group, tuple) else (group,)
        table = rows.assign(_a=rows[a[0]].astype(str), _b=rows[b[0]].astype(str)).pivot(
            index=pair_on, columns=["_a", "_b"], values=metric)
        present = [c for c in cells.values() if c in table.columns]
        table = table[present].apply(pd.to_numeric, errors="coerce").dropna() if len(present) == 4 else table.iloc[0:0]
        record: dict[str, Any] = dict(zip(by, group), metric=metric, a=f"{a[0]}: {a[2]} vs {a[1]}",
                                      b=f"{b[0]}: {b[2]} vs {b[1]}", n_seeds=len(table),
                                      seeds=",".join(map(str, table.index)), confidence_level=confidence_level,
                                      correction=correction, _n_nonzero=0, note="")
        if len(table) == 0:
            record["_missing"] = "no seed has all four cells"
            records.append(record)
            continue
        y = {ij: table[cell].to_numpy(float) for ij, cell in cells.items()}
        at_b0, at_b1 = y[1, 0] - y[0, 0], y[1, 1] - y[0, 1]
        n_nonzero = len(nonzero_differences(at_b1, at_b0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # degenerate input is explained in the verdict
            ci = t_interval(at_b1 - at_b0, confidence_level=confidence_level)
            result = paired_test(at_b1, at_b0, test=test, rng=rng)
        record.update(effect_a_at_b0=float(at_b0.mean()), effect_a_at_b1=float(at_b1.mean()),
                      interaction=ci.estimate, ci_low=ci.low, ci_high=ci.high, test=result.method,
                      diff=ci.estimate, _n_nonzero=n_nonzero)
        if len(table) > 1 and n_nonzero > 0:  # otherwise not tested and not in the family, as in compare()
            record.update(statistic=result.statistic, p=result.pvalue, min_p=result.min_pvalue,
                          _direction=result.direction)
            record["note"] = _note(record, test=test, a=a, b=b)
        records.append(record)
    pvalues = np.array([r.get("p", np.nan) for r in records], dtype=float)
    adjusted = adjust_pvalues(pvalues, method=correction, alpha=alpha)
    floors = attainable_adjusted_pvalues(pvalues, [r.get("min_p", np.nan) for r in records], method=correction)
    words = (f"the effect of {a[2]} is larger with {b[2]} than with {b[1]}",
             f"the effect of {a[2]} is smaller with {b[2]} than with {b[1]}")
    for record, p_adj, floor in zip(records, adjusted.pvalues_adjusted, floors):
        record.update(p_adjusted=float(p_adj), min_p_adjusted=float(floor), n_comparisons=adjusted.n_comparisons)
        record.setdefault("p", np.nan)
        record["verdict"] = verdict(record, alpha=alpha, correction=correction, higher_is_better=None, words=words)
    table = pd.DataFrame.from_records(records, columns=[*by, *COLUMNS])
    table.attrs.update(alpha=alpha, confidence_level=confidence_level, test=test, correction=correction)
    return table


def _note(row: dict[str, Any], *, test: str, a: Factor, b: Factor) -> str:
    """What a referee should know about a tested group's contrast: zeros dropped, the test's direction."""
    n, k, name, notes = row["n_seeds"], row["_n_nonzero"], TEST_NAMES[test], []
    if k < n and test != "t":
        notes.append(f"{n - k} zero contrast(s) dropped by the {name}, which uses the {k} non-zero")
    if row["_direction"] and np.isfinite(row["p"]) and row["_direction"] != np.sign(row["diff"]):
        side = "larger" if row["_direction"] > 0 else "smaller"
        notes.append(f"the {name} favours a {side} effect of {a[2]} with {b[2]} (most of its weight is on that side) "
                     f"while the mean contrast is {row['diff']:+.4g}; the verdict follows the mean")
    return "; ".join(notes)


__all__ = ["COLUMNS", "interaction"]
