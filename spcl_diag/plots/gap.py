"""What the third modality adds: the gap between ``tav`` and each pair of modalities.

For every seed, arm, dataset and backbone, ``gap_m = score(tav) - score(tav without m)``
is the marginal gain of modality ``m`` on top of the other two. A gain near zero for audio
or visual is the signature of modality imbalance: the network learned to ignore it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from spcl_diag.modalities import MODALITIES
from spcl_diag.plots.style import MODALITY_COLORS, metric_label, order_levels, scope_label

PAIR_KEYS: tuple[str, ...] = ("dataset", "backbone", "curriculum", "balancing", "seed")


def pair_gaps(results: pd.DataFrame, *, metric: str = "test_wf1", full: str = "tav") -> pd.DataFrame:
    """Seed-by-seed gap between the ``full`` modality set and each set missing one modality.

    Parameters
    ----------
    results
        ``load_runs(...).results`` with runs of ``full`` and of its pairs.
    metric
        A column of ``results`` (``test_wf1``, ``test_acc``, ...).
    full
        The full modality set.

    Returns
    -------
    pandas.DataFrame
        ``dataset, backbone, curriculum, balancing, seed, pair, missing, gap``; only
        seeds where both runs finished.
    """
    ok = results[results["status"] == "ok"]
    keys = [k for k in PAIR_KEYS if k in ok.columns]
    base = ok[ok["modalities"] == full][[*keys, metric]].rename(columns={metric: "full"})
    frames = []
    for missing in (m for m in MODALITIES if m in full):
        pair = "".join(m for m in full if m != missing)
        part = ok[ok["modalities"] == pair][[*keys, metric]].rename(columns={metric: "pair_score"})
        merged = base.merge(part, on=keys)
        merged["pair"], merged["missing"] = pair, missing
        merged["gap"] = merged["full"] - merged["pair_score"]
        frames.append(merged[[*keys, "pair", "missing", "gap"]])
    gaps = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if gaps.empty:
        raise ValueError(f"pair_gaps: no seed has both a {full!r} run and a run of one of its pairs.")
    return gaps


def plot_pair_gap(
    gaps: pd.DataFrame,
    *,
    arms: Sequence[str] | None = None,
    metric: str = "test_wf1",
    ax: Axes | None = None,
    **errorbar_kws: Any,
) -> Axes:
    """Mean gain of each modality over the other two, per arm, with seed-by-seed points.

    Parameters
    ----------
    gaps
        :func:`pair_gaps` rows.
    arms
        Arms to show, left to right (default: all present).
    metric
        The metric the gaps were computed on (for the axis label).
    ax
        Axes to draw on (a new figure if omitted).
    **errorbar_kws
        Passed to ``Axes.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.containers[i]`` is the errorbar of the i-th modality (label ``mean gain of <m>``);
        its ``lines[0]`` holds the per-arm means, its bars +-1 sd over seeds.
    """
    arm_levels = list(arms) if arms is not None else order_levels("curriculum", list(pd.unique(gaps["curriculum"])))
    missing = order_levels("scope", list(pd.unique(gaps["missing"])))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.5 + 1.2 * len(arm_levels), 3.4))
    step = 0.7 / max(1, len(missing))
    for j, m in enumerate(missing):
        rows = gaps[gaps["missing"] == m]
        stats = rows.groupby("curriculum")["gap"].agg(["mean", "std"]).reindex(arm_levels)
        x = np.arange(len(arm_levels)) - 0.35 + step * (j + 0.5)
        kws = {"fmt": "o", "capsize": 3, "color": MODALITY_COLORS[m], "markersize": 6, **errorbar_kws}
        ax.errorbar(x, stats["mean"].to_numpy(), yerr=stats["std"].fillna(0).to_numpy(),
                    label=f"mean gain of {m}", **kws)
        for i, arm in enumerate(arm_levels):
            seeds = rows.loc[rows["curriculum"] == arm, "gap"].to_numpy()
            ax.scatter(np.full(seeds.size, x[i]) + 0.06, seeds, s=9, color=MODALITY_COLORS[m], alpha=0.45, lw=0)
    ax.axhline(0, color="0.6", lw=0.8, zorder=0)
    ax.set_xticks(range(len(arm_levels)), arm_levels)
    ax.set_ylabel(f"gain in {metric_label(metric.removeprefix('test_'))}\n(all three minus the pair without it)")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles, [f"adding {scope_label(m)}" for m in missing], frameon=False, fontsize="small",
              loc="upper left", bbox_to_anchor=(1.0, 1.0))  # outside the axes: it never covers a seed
    return ax
