"""The standard figure set of a folder of runs (DESIGN section 10), as figure-level functions.

:func:`standard_figures` builds every figure the runs support and returns them by name;
it never saves them (the CLI, the report and ``analyses/`` do).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from spcl_diag.metrics.registry import FAMILY_LABELS, column_label, metric_family
from spcl_diag.plots.aggregate import aggregate_figure
from spcl_diag.plots.confusion import confusion_figure
from spcl_diag.plots.curves import grad_share_curves, modality_curves, plot_kept_fraction
from spcl_diag.plots.difficulty import plot_difficulty_by_modality, plot_difficulty_heatmap
from spcl_diag.plots.forest import plot_forest
from spcl_diag.plots.gap import pair_gaps, plot_pair_gap
from spcl_diag.plots.style import hue_color
from spcl_diag.runs.loading import RunTables

CURRICULUM_ARMS: tuple[str, ...] = ("spcl", "random", "anti")


def curriculum_figure(tables: RunTables, *, seed: int | None = None, arms: Sequence[str] = CURRICULUM_ARMS) -> Figure:
    """Difficulty heatmaps of the curriculum arms of one seed, and their kept fractions.

    One heatmap per arm present (utterances in the order of the first arm's mean
    difficulty, a shared colour scale, left-out cells greyed), and a last panel with the
    kept fraction of each arm over all seeds.

    Parameters
    ----------
    tables
        Runs of one dataset, backbone and modality set (the first such group is used
        otherwise).
    seed
        The seed whose trajectories are shown (default: the smallest with an spcl run).
    arms
        Curriculum arms to compare.
    """
    from spcl_diag.runs.frames import difficulty_frame  # reads the run folders

    results = _main_group(tables.results)
    present = [a for a in arms if a in set(results["curriculum"])]
    if not present:
        raise ValueError(f"curriculum_figure: none of the arms {list(arms)} has a finished run.")
    if seed is None:
        seed = int(results.loc[results["curriculum"] == present[0], "seed"].min())
    frames = {}
    for arm in present:
        match = results[(results["curriculum"] == arm) & (results["seed"] == seed)]
        if not match.empty:
            frames[arm] = difficulty_frame(match["path"].iloc[0])
    first = next(iter(frames.values()))
    order = first.groupby("utterance")["d"].mean().sort_values(kind="stable").index.to_numpy()
    positive = np.concatenate([f["d"].to_numpy() for f in frames.values()])
    positive = positive[positive > 0]
    vmin, vmax = (float(np.quantile(positive, 0.02)), float(np.quantile(positive, 0.98))) if positive.size else (None, None)
    fig, axes = plt.subplots(1, len(frames) + 1, figsize=(3.9 * (len(frames) + 1), 3.6))
    for ax, (arm, frame) in zip(axes, frames.items()):
        plot_difficulty_heatmap(frame, order=order, vmin=vmin, vmax=vmax, ax=ax)
        ax.set_title(f"{arm}, seed {seed}", color=hue_color("curriculum", arm) or "black")
    for ax in axes[1:-1]:
        ax.set_ylabel("")
    epochs = tables.epochs[tables.epochs["run_id"].isin(results["run_id"])]
    plot_kept_fraction(epochs, arms=present, ax=axes[-1])
    fig.tight_layout()
    return fig


def confidence_figure(tables: RunTables, *, arms: Sequence[str] | None = None) -> Figure:
    """Test-utterance difficulty grouped by arm and by the most confident modality."""
    from spcl_diag.runs.frames import confidence_frame  # reads the run folders (and imports torch)

    frame = confidence_frame(tables)
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * frame["curriculum"].nunique(), 3.6))
    plot_difficulty_by_modality(frame, arms=arms, ax=ax)
    ax.set_title("difficulty by most confident modality", fontsize="medium")
    fig.tight_layout()
    return fig


def pair_gap_figure(results: pd.DataFrame, *, metric: str = "test_wf1", arms: Sequence[str] | None = None) -> Figure:
    """Gain of each modality over the other two (``tav`` minus each pair), per arm."""
    gaps = pair_gaps(results, metric=metric)
    fig, ax = plt.subplots(figsize=(1.8 + 1.3 * gaps["curriculum"].nunique(), 3.6))
    plot_pair_gap(gaps, arms=arms, metric=metric, ax=ax)
    ax.set_title("what each modality adds to the other two", fontsize="medium")
    fig.tight_layout()
    return fig


def forest_figure(comparison: pd.DataFrame, *, title: str = "", **kwargs: Any) -> Figure:
    """:func:`~spcl_diag.plots.forest.plot_forest` sized to the rows, one panel per metric family.

    Differences in different units never share an axis: a table that compares weighted F1
    and disparity ratios gets one panel per family (:func:`~spcl_diag.metrics.registry.metric_family`),
    each titled with its readable label, stacked with the heights of their rows.
    """
    estimate = kwargs.get("estimate", "diff")
    rows = comparison[comparison[estimate].notna()] if estimate in comparison else comparison
    families = rows["metric"].map(metric_family) if "metric" in rows else pd.Series("", index=rows.index)
    panels = [(family, rows[families == family]) for family in pd.unique(families)] or [("", rows)]
    heights = [0.55 + 0.34 * max(len(panel), 1) for _, panel in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(6.4, 0.9 * len(panels) + sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights}, layout="constrained")
    for ax, (family, panel) in zip(axes[:, 0], panels):
        one_metric = "metric" in panel and panel["metric"].nunique() == 1 and "xlabel" not in kwargs
        panel_kwargs = dict(kwargs)
        if one_metric:
            panel_kwargs["xlabel"] = f"difference in {column_label(panel['metric'].iloc[0])} to baseline"
        plot_forest(panel, ax=ax, **panel_kwargs)
        if len(panels) > 1:
            ax.set_title(FAMILY_LABELS.get(family, family.replace("_", " ")), fontsize="medium", loc="left")
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig


def standard_figures(tables: RunTables, *, comparisons: dict[str, pd.DataFrame] | None = None) -> dict[str, Figure]:
    """Every figure of DESIGN section 10 that the runs support, by file stem.

    Parameters
    ----------
    tables
        ``load_runs(...)``.
    comparisons
        Name -> table of :func:`spcl_diag.stats.compare`, each drawn as ``forest_<name>``.

    Returns
    -------
    dict of str to Figure
        ``accuracy_curves``, ``disparity_curves``, ``grad_share``, ``curriculum``,
        ``difficulty_by_modality``, ``pair_gap``, ``confusion`` (the first arm of the main
        group, summed over seeds), ``aggregate`` (IQM and probability of improvement over
        every cell) and the forest plots; a figure whose data
        is missing (no pairs of modalities, no spcl run, one modality) is left out with a
        ``UserWarning`` that says why.
    """
    ok_ids = set(tables.results.loc[tables.results["status"] == "ok", "run_id"])
    epochs = tables.epochs[tables.epochs["run_id"].isin(ok_ids)]
    main = _main_group(tables.results)
    main_epochs = epochs[epochs["run_id"].isin(main["run_id"])]
    builders: dict[str, Callable[[], Figure]] = {
        "accuracy_curves": lambda: modality_curves(main_epochs, metric="acc", split="dev"),
        "disparity_curves": lambda: modality_curves(main_epochs, metric="disparity_ratio", split="dev"),
        "grad_share": lambda: grad_share_curves(main_epochs),
        "curriculum": lambda: curriculum_figure(tables),
        "difficulty_by_modality": lambda: confidence_figure(RunTables(main, main_epochs)),
        "pair_gap": lambda: pair_gap_figure(tables.results),
        "confusion": lambda: confusion_figure(list(main.loc[main["curriculum"] == main["curriculum"].iloc[0], "path"])),
        "aggregate": lambda: aggregate_figure(tables.results, rng=np.random.default_rng(0)),
    }
    for name, comparison in (comparisons or {}).items():
        builders[f"forest_{name}"] = functools.partial(forest_figure, comparison, title=name.replace("_", " "))
    figures = {}
    for name, build in builders.items():
        before = set(plt.get_fignums())
        try:
            figures[name] = build()
        except (ValueError, KeyError) as err:
            for number in set(plt.get_fignums()) - before:  # a half-built figure
                plt.close(number)
            warnings.warn(f"figure {name!r} left out: {err}", UserWarning, stacklevel=2)
    return figures


def _main_group(results: pd.DataFrame) -> pd.DataFrame:
    """The finished runs of the first dataset / backbone, on the largest modality set."""
    ok = results[results["status"] == "ok"]
    if ok.empty:
        raise ValueError("no finished run to plot.")
    first = ok.sort_values(["dataset", "backbone"]).iloc[0]
    group = ok[(ok["dataset"] == first["dataset"]) & (ok["backbone"] == first["backbone"])]
    widest = max(group["modalities"].unique(), key=len)
    return group[group["modalities"] == widest]
