r"""``interaction``: the 2 x 2 interaction contrast of a factorial design, seed by seed.

In a grid crossing two factors (say ``curriculum`` in {none, spcl} and ``balancing`` in
{none, ogm-ge}) with paired seeds, the question "does SPCL add anything on top of OGM-GE?" is
the interaction contrast per seed :math:`s`,

.. math:: \delta_s = (y_{s}(a_1, b_1) - y_{s}(a_0, b_1)) - (y_{s}(a_1, b_0) - y_{s}(a_0, b_0)),

the effect of :math:`a` (``spcl`` vs ``none``) in the presence of :math:`b_1` minus its effect
at :math:`b_0`. Its mean gets a Student-t interval (:func:`~spcl_diag.stats.intervals.t_interval`)
and the two effects a paired test over seeds (:func:`~spcl_diag.stats.paired_tests.paired_test`;
the paired t test of the effects is the one-sample t test of :math:`\delta`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from spcl_diag.stats._common import check_confidence_level, check_rng
from spcl_diag.stats.compare import results_frame
from spcl_diag.stats.intervals import t_interval
from spcl_diag.stats.paired_tests import PAIRED_TESTS, PairedTest, paired_test

Factor = tuple[str, str, str]  # (column, level 0, level 1)

COLUMNS: tuple[str, ...] = (
    "metric", "a", "b", "n_seeds", "seeds", "effect_a_at_b0", "effect_a_at_b1", "interaction",
    "ci_low", "ci_high", "confidence_level", "test", "statistic", "p", "min_p", "verdict",
)


def interaction(
    runs: Any,
    metric: str,
    a: Factor = ("curriculum", "none", "spcl"),
    b: Factor = ("balancing", "none", "ogm-ge"),
    *,
    rng: np.random.Generator,
    by: Sequence[str] = ("dataset", "backbone", "modalities"),
    pair_on: str = "seed",
    test: PairedTest = "t",
    confidence_level: float = 0.95,
    alpha: float = 0.05,
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
        Level of the verdict.

    Returns
    -------
    pandas.DataFrame
        One row per group: the ``by`` columns and :data:`COLUMNS`; ``effect_a_at_b0`` and
        ``effect_a_at_b1`` are the mean effects of ``a``, ``interaction`` their difference
        (the mean of :math:`\delta_s`) with ``ci_low``/``ci_high``, ``p`` and ``min_p`` (the
        smallest p the test can reach with these seeds) and a verdict in words.

    Examples
    --------
    >>> frame = pd.DataFrame({
    ...     "curriculum": ["none", "spcl"] * 6, "balancing": ["none"] * 6 + ["ogm-ge"] * 6,
    ...     "seed": [0, 0, 1, 1, 2, 2] * 2,
    ...     "test_wf1": [.60, .63, .61, .65, .62, .64, .64, .65, .63, .64, .66, .66]})
    >>> row = interaction(frame, "test_wf1", by=(), rng=np.random.default_rng(0)).iloc[0]
    >>> [round(float(row[c]), 3) for c in ("effect_a_at_b0", "effect_a_at_b1", "interaction")]
    [0.03, 0.007, -0.023]
    """
    check_rng(rng)
    check_confidence_level(confidence_level)
    if test not in PAIRED_TESTS:
        raise ValueError(f"test must be one of {', '.join(PAIRED_TESTS)}; got {test!r}.")
    frame = results_frame(runs)
    by = [c for c in ([by] if isinstance(by, str) else list(by)) if c in frame.columns]
    missing = [c for c in (a[0], b[0], pair_on, metric) if c not in frame.columns]
    if missing:
        raise ValueError(f"interaction: column(s) {', '.join(map(repr, missing))} missing; columns are {', '.join(frame.columns)}.")
    if "status" in frame.columns:
        frame = frame[frame["status"].astype(str) == "ok"]
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
                                      seeds=",".join(map(str, table.index)), confidence_level=confidence_level)
        if len(table) == 0:
            record["verdict"] = "no seed has all four cells"
            records.append(record)
            continue
        y = {ij: table[cell].to_numpy(float) for ij, cell in cells.items()}
        at_b0, at_b1 = y[1, 0] - y[0, 0], y[1, 1] - y[0, 1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # degenerate input is explained in the verdict
            ci = t_interval(at_b1 - at_b0, confidence_level=confidence_level)
            result = paired_test(at_b1, at_b0, test=test, rng=rng) if len(table) > 1 else None
        record.update(effect_a_at_b0=float(at_b0.mean()), effect_a_at_b1=float(at_b1.mean()),
                      interaction=ci.estimate, ci_low=ci.low, ci_high=ci.high)
        if result is not None:
            record.update(test=result.method, statistic=result.statistic, p=result.pvalue, min_p=result.min_pvalue)
        record["verdict"] = _verdict(record, alpha=alpha, a=a, b=b)
        records.append(record)
    return pd.DataFrame.from_records(records, columns=[*by, *COLUMNS])


def _verdict(row: dict[str, Any], *, alpha: float, a: Factor, b: Factor) -> str:
    n, p = row["n_seeds"], row.get("p", np.nan)
    if n < 2:
        return f"too few paired seeds ({n})"
    if not np.isfinite(p):
        return "test undefined: the contrast is the same on every seed"
    if row["min_p"] > alpha:
        return f"cannot reach p<{alpha:g} with {n} seeds (min p {row['min_p']:.3g})"
    if p < alpha:
        more = "larger" if row["interaction"] > 0 else "smaller"
        return f"the effect of {a[2]} is {more} with {b[2]} than with {b[1]} (p={p:.2g})"
    return f"no significant interaction (p={p:.2g})"


__all__ = ["COLUMNS", "interaction"]
