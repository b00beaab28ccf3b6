"""Aggregate performance over many cells, rliable-style: IQM and probability of improvement.

Following Agarwal et al. (NeurIPS 2021), for each arm over all (dataset, backbone, modality
set) cells: the interquartile mean of the run scores with a stratified bootstrap interval
(:func:`spcl_diag.stats.bootstrap.stratified_bootstrap_ci`), and the probability that a run
of the arm beats a run of the baseline, averaged over cells
(:func:`spcl_diag.stats.aggregate.average_probability_of_improvement`). The project's own
tested functions are used rather than the ``rliable`` package.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from spcl_diag.metrics.registry import column_label
from spcl_diag.plots.style import ARM_LINESTYLES, hue_color, order_levels

TASK_COLUMNS: tuple[str, ...] = ("dataset", "backbone", "modalities")


def aggregate_scores(
    results: pd.DataFrame,
    metric: str = "test_wf1",
    *,
    baseline: str = "none",
    arm_column: str = "curriculum",
    tasks: Sequence[str] = TASK_COLUMNS,
    higher_is_better: bool = True,
    rng: np.random.Generator,
    n_resamples: int = 2000,
) -> pd.DataFrame:
    """One row per arm: ``iqm``, ``iqm_low``, ``iqm_high``, ``poi``, ``poi_low``, ``poi_high``, ``n_runs``, ``n_tasks``.

    ``poi`` is P(arm > baseline) (P(arm < baseline) when lower is better), averaged over the
    tasks both have; it is NaN for the baseline itself.
    """
    from spcl_diag.stats.aggregate import average_probability_of_improvement
    from spcl_diag.stats.bootstrap import stratified_bootstrap_ci

    missing = [c for c in (metric, arm_column, *tasks) if c not in results]
    if missing:
        raise ValueError(f"aggregate_scores: results lack column(s) {missing}.")
    ok = results[results[metric].notna()]
    if "status" in ok:
        ok = ok[ok["status"] == "ok"]
    if ok.empty:
        raise ValueError(f"no run has a value of {metric!r}.")
    if baseline not in set(ok[arm_column]):
        raise ValueError(f"no {baseline!r} run to compare with; arms present: {sorted(set(ok[arm_column]))}.")
    key = ok[list(tasks)].astype(str).agg(" / ".join, axis=1)
    sign = 1.0 if higher_is_better else -1.0
    by_arm = {
        arm: {task: part[metric].to_numpy(float) for task, part in ok[ok[arm_column] == arm].groupby(key[ok[arm_column] == arm])}
        for arm in pd.unique(ok[arm_column])
    }
    records = []
    for arm in order_levels("curriculum", list(by_arm)):
        scores = by_arm[arm]
        iqm = stratified_bootstrap_ci(scores, aggregate="iqm", rng=rng, n_resamples=n_resamples)
        record = {"arm": arm, "iqm": iqm.estimate, "iqm_low": iqm.low, "iqm_high": iqm.high,
                  "poi": np.nan, "poi_low": np.nan, "poi_high": np.nan,
                  "n_runs": sum(len(v) for v in scores.values()), "n_tasks": len(scores)}
        shared = sorted(set(scores) & set(by_arm.get(baseline, {})))
        if arm != baseline and shared:
            poi = average_probability_of_improvement(
                {t: sign * scores[t] for t in shared}, {t: sign * by_arm[baseline][t] for t in shared},
                rng=rng, n_resamples=n_resamples,
            )
            record.update(poi=poi.estimate, poi_low=poi.low, poi_high=poi.high)
        records.append(record)
    return pd.DataFrame.from_records(records)


def aggregate_figure(
    results: pd.DataFrame,
    metric: str = "test_wf1",
    *,
    baseline: str = "none",
    rng: np.random.Generator,
    higher_is_better: bool = True,
    **kwargs: object,
) -> Figure:
    """IQM per arm (left) and probability of improvement over ``baseline`` (right), 95% intervals.

    Parameters as in :func:`aggregate_scores`; each arm has its colour and line style in both
    panels and the legend gives its number of runs and cells.
    """
    table = aggregate_scores(results, metric, baseline=baseline, rng=rng, higher_is_better=higher_is_better,
                             **kwargs)  # type: ignore[arg-type]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.2, 1.5 + 0.45 * len(table)), sharey=True)
    y = np.arange(len(table))[::-1]
    for yi, rec in zip(y, table.to_dict("records")):
        style = {"color": hue_color("curriculum", rec["arm"]) or "black",
                 "linestyle": ARM_LINESTYLES.get(rec["arm"], "-"), "lw": 2}
        label = f"{rec['arm']} ({_count(rec['n_runs'], 'run')}, {_count(rec['n_tasks'], 'cell')})"
        left.plot([rec["iqm_low"], rec["iqm_high"]], [yi, yi], label=label, **style)
        left.plot(rec["iqm"], yi, "o", color=style["color"])
        if np.isfinite(rec["poi"]):
            right.plot([rec["poi_low"], rec["poi_high"]], [yi, yi], **style)
            right.plot(rec["poi"], yi, "o", color=style["color"])
    left.set_yticks(y, table["arm"])
    left.set_xlabel(f"IQM of {column_label(metric)}")
    better = "higher" if higher_is_better else "lower"
    right.set_xlabel(f"P(arm {'>' if higher_is_better else '<'} {baseline})")
    right.axvline(0.5, color="0.6", lw=0.8, zorder=0)
    right.set_xlim(0, 1)
    fig.suptitle(f"{column_label(metric)} over all cells ({better} is better; 95% stratified bootstrap intervals)",
                 fontsize="medium")
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    fig.legend(*left.get_legend_handles_labels(), loc="lower center", ncol=min(len(table), 4), frameon=False,
               fontsize="small")
    return fig


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"
