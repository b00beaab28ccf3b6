"""Curves over epochs with seed bands: per-modality accuracy, disparity ratio, gradient shares,
kept fraction.

The axes-level :func:`plot_curves` draws one line per level of ``hue`` (the mean over
``units``, usually seeds) with a band: by default the 95% Student-t interval of the mean
(:func:`spcl_diag.stats.intervals.t_interval`), with the number of seeds in the legend. With
fewer than :data:`MIN_BAND_UNITS` seeds a t interval is wider than the curves it is meant to
separate (its critical value is 2.78 at 5 seeds, 4.30 at 3), so each seed is drawn as a thin
line under the mean instead, and the legend says so; the
other functions pick rows of the epochs table and call it. It refuses to average runs of
different datasets, backbones or modality sets into one line; the figure-level functions lay
out one panel per modality or arm, and one row of panels per dataset / backbone / modality set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from spcl_diag.metrics.gradients import grad_norm_share_table
from spcl_diag.plots.style import ARM_LINESTYLES, hue_color, metric_label, order_levels, scope_label

Band = Literal["ci", "sd", "range", "none"]
POOLING_KEYS: tuple[str, ...] = ("dataset", "backbone", "modalities", "balancing")
MIN_BAND_UNITS = 5  # fewer seeds than this: each seed's own thin line instead of a band


def plot_curves(
    data: pd.DataFrame,
    *,
    x: str = "epoch",
    y: str = "value",
    hue: str = "scope",
    units: str = "seed",
    band: Band = "ci",
    ax: Axes | None = None,
    legend: bool = True,
    min_band_units: int = MIN_BAND_UNITS,
    **line_kws: Any,
) -> Axes:
    """Mean curve per ``hue`` level over ``units``, with a band.

    Parameters
    ----------
    data
        Tidy rows; one value per ``(hue, units, x)``.
    x, y
        Columns of the horizontal and vertical values.
    hue
        One line per level; ``scope`` takes :data:`~spcl_diag.plots.style.MODALITY_COLORS`,
        ``curriculum`` the arm colours and line styles.
    units
        Column of the repeated runs (seeds) that the mean and the band are taken over.
    band
        ``ci``: 95% Student-t interval of the mean over units (drawn where there are at
        least 2); ``sd``: mean +- one standard deviation; ``range``: minimum to maximum;
        ``none``. Bands of proportions (accuracy, F1, kept fraction) are drawn clipped to
        [0, 1]: with few seeds the t interval can reach past the metric's range. A line
        with fewer than ``min_band_units`` units gets each unit's own thin line instead.
    ax
        Axes to draw on (a new figure if omitted).
    legend
        Draw the legend; its title names the band and the number of units (``n``), or each
        label carries its own ``n`` when the lines have different numbers of units.
    min_band_units
        The fewest units (seeds) a line needs for its band (default :data:`MIN_BAND_UNITS`).
    **line_kws
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
        One line per hue level, in :func:`~spcl_diag.plots.style.order_levels` order; in
        ``ax.collections`` each line's band, or the ``LineCollection`` of its units' lines.
    """
    missing = sorted({x, y, hue, units} - set(data.columns))
    if missing:
        raise ValueError(f"plot_curves: data lacks column(s) {missing}; found {list(data.columns)}.")
    if band not in ("ci", "sd", "range", "none"):
        raise ValueError(f"band must be 'ci', 'sd', 'range' or 'none'; got {band!r}.")
    for key in POOLING_KEYS:
        if key != hue and key in data and data[key].nunique() > 1:
            raise ValueError(
                f"plot_curves would average runs of different {key} ({', '.join(map(str, pd.unique(data[key])))}) "
                f"into one line; select one value of {key}, or use modality_curves (one row of panels per value)."
            )
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.4))
    levels = order_levels(hue, list(pd.unique(data[hue])))
    counts = {level: int(data.loc[data[hue] == level, units].nunique()) for level in levels}
    same_n = len(set(counts.values())) == 1
    for level in levels:
        rows = data[data[hue] == level]
        stats = rows.groupby(x)[y].agg(["mean", "std", "min", "max", "count"]).sort_index()
        label = scope_label(level) if hue == "scope" else str(level)
        kws = {"color": hue_color(hue, level), "label": label if same_n else f"{label} (n={counts[level]})", **line_kws}
        if hue == "curriculum" and "linestyle" not in line_kws:
            kws["linestyle"] = ARM_LINESTYLES.get(level, "-")
        (line,) = ax.plot(stats.index.to_numpy(), stats["mean"].to_numpy(), **kws)
        if band != "none" and 1 < counts[level] < min_band_units:
            seeds = [u.sort_values(x)[[x, y]].to_numpy(dtype=float) for _, u in rows.groupby(units)]
            ax.add_collection(LineCollection(seeds, colors=line.get_color(), linewidths=0.6, alpha=0.45,
                                             linestyles=line.get_linestyle(), zorder=line.get_zorder() - 0.1))
        elif band != "none" and counts[level] > 1:
            low, high = _band(rows, stats, x=x, y=y, band=band)
            if "metric" in rows and rows["metric"].map(_is_proportion).all():
                low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)  # drawn within the metric's range
            ax.fill_between(stats.index.to_numpy(), low, high, color=line.get_color(), alpha=0.18, lw=0)
    if x == "epoch":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if legend:
        n_text = f", n = {next(iter(counts.values()))} {units}s" if same_n and counts else ""
        banded = [n >= min_band_units for n in counts.values() if n > 1]
        spread = "none" if band == "none" or not banded else band if all(banded) else "mixed" if any(banded) else "units"
        ax.legend(title=f"mean, {_spread_text(spread, band, units, min_band_units)}{n_text}", frameon=False,
                  fontsize="small", title_fontsize="small", loc="best")
    ax.set_xlabel(x)
    ax.set_ylabel(metric_label(str(data["metric"].iloc[0])) if "metric" in data and len(data) else y)
    return ax


def select_rows(
    epochs: pd.DataFrame,
    *,
    metric: str,
    split: str | None = None,
    scopes: Sequence[str] | None = None,
    arms: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows of an epochs table for one metric (and split, scopes, arms); an error if none."""
    rows = epochs[epochs["metric"] == metric]
    if split is not None:
        rows = rows[rows["split"] == split]
    if scopes is not None:
        rows = rows[rows["scope"].isin(scopes)]
    if arms is not None:
        rows = rows[rows["curriculum"].isin(arms)]
    if rows.empty:
        raise ValueError(
            f"no rows with metric={metric!r}, split={split!r}, scopes={scopes}, arms={arms}; "
            f"metrics present: {sorted(epochs['metric'].unique())}."
        )
    return rows


def modality_curves(
    epochs: pd.DataFrame,
    *,
    metric: str = "acc",
    split: str = "dev",
    panels: Literal["scope", "curriculum"] = "scope",
    arms: Sequence[str] | None = None,
    band: Band = "ci",
) -> Figure:
    """Per-modality curves of ``metric`` for each arm, mean and band over seeds.

    With ``panels="scope"`` there is one panel per modality and one line per arm (to compare
    arms on each modality); with ``panels="curriculum"`` one panel per arm and one line per
    modality (to see the imbalance inside each arm). Panels share the vertical axis. Runs of
    several datasets, backbones or modality sets get one row of panels each, never one
    averaged line.

    Parameters
    ----------
    epochs
        ``load_runs(...).epochs``.
    metric
        ``acc``, ``wf1``, ``loss``, ``gold_prob``, ``disparity_ratio``, ...
    split
        ``train``, ``dev`` or ``test``.
    panels
        What each panel holds (see above).
    arms
        Arms to show (default: all present).
    band
        See :func:`plot_curves`.
    """
    rows = select_rows(epochs, metric=metric, split=split, arms=arms)
    hue = "curriculum" if panels == "scope" else "scope"
    levels = order_levels(panels, list(pd.unique(rows[panels])))
    keys = [k for k in POOLING_KEYS if k in rows and rows[k].nunique() > 1]
    groups = list(rows.groupby(keys, sort=True)) if keys else [((), rows)]
    fig, axes = plt.subplots(len(groups), len(levels), figsize=(3.4 * len(levels) + 2.4, 3.3 * len(groups)),
                             sharey=True, squeeze=False)
    for r, (values, group) in enumerate(groups):
        where = " / ".join(map(str, values if isinstance(values, tuple) else (values,)))
        for c, (ax, level) in enumerate(zip(axes[r], levels)):
            panel = group[group[panels] == level]
            if panel.empty:
                ax.set_axis_off()
                continue
            plot_curves(panel, hue=hue, band=band, ax=ax, legend=c == len(levels) - 1)
            title = scope_label(level) if panels == "scope" else level
            ax.set_title(f"{title} ({where})" if where else title, color=hue_color(panels, level) or "black",
                         fontsize="medium")
            if metric == "disparity_ratio":
                ax.axhline(1.0, color="0.6", lw=0.8, zorder=0)
            if c:
                ax.set_ylabel("")
    single = [str(rows[k].iloc[0]) for k in ("dataset", "backbone", "modalities") if k in rows and k not in keys]
    cell = f" ({' / '.join(single)})" if single and len(rows) else ""  # the figure says which runs it shows
    fig.suptitle(f"{metric_label(metric)} on {split}, mean over seeds{cell}", fontsize="medium")
    _legends_outside(axes)
    fig.tight_layout()
    return fig


def grad_share_curves(epochs: pd.DataFrame, *, arms: Sequence[str] | None = None, band: Band = "ci") -> Figure:
    """Share of each modality in the gradient norm over epochs, one panel per arm.

    Shares come from :func:`spcl_diag.metrics.gradients.grad_norm_share_table`; a branch
    whose share stays far above ``1/M`` receives most of the learning signal.
    """
    shares = grad_norm_share_table(select_rows(epochs, metric="grad_norm", arms=arms))
    arm_levels = order_levels("curriculum", list(pd.unique(shares["curriculum"])))
    fig, axes = plt.subplots(1, len(arm_levels), figsize=(3.4 * len(arm_levels) + 2.4, 3.3), sharey=True, squeeze=False)
    for i, (ax, arm) in enumerate(zip(axes[0], arm_levels)):
        rows = shares[shares["curriculum"] == arm]
        plot_curves(rows, hue="scope", band=band, ax=ax, legend=i == len(arm_levels) - 1)
        ax.axhline(1 / rows["scope"].nunique(), color="0.6", lw=0.8, zorder=0)
        ax.set_title(arm, color=hue_color("curriculum", arm) or "black")
    for ax in axes[0][1:]:
        ax.set_ylabel("")
    fig.suptitle("gradient-norm share per modality, mean over seeds", fontsize="medium")
    _legends_outside(axes)
    fig.tight_layout()
    return fig


def plot_kept_fraction(
    epochs: pd.DataFrame,
    *,
    arms: Sequence[str] = ("spcl", "random", "anti"),
    band: Band = "ci",
    ax: Axes | None = None,
    **line_kws: Any,
) -> Axes:
    """Fraction of each training batch kept by the curriculum, per arm, over epochs.

    ``random`` and ``anti`` replay the ``spcl`` run's counts, so their curves lie on top of
    spcl's (drawn dashed and dotted): same data budget, different choice of utterances.
    """
    present = [a for a in arms if a in set(epochs["curriculum"])]
    rows = select_rows(epochs, metric="kept_fraction", split="train", arms=present or None)
    ax = plot_curves(rows, hue="curriculum", band=band, ax=ax, **line_kws)
    ax.set_ylim(0, 1.05)
    ax.set_title("utterances kept per batch")
    return ax


def _band(rows: pd.DataFrame, stats: pd.DataFrame, *, x: str, y: str, band: Band) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edge of the band at each ``x`` (NaN where it is undefined)."""
    if band == "sd":
        return (stats["mean"] - stats["std"]).to_numpy(), (stats["mean"] + stats["std"]).to_numpy()
    if band == "range":
        return stats["min"].to_numpy(), stats["max"].to_numpy()
    from spcl_diag.stats.intervals import t_interval

    low, high = np.full(len(stats), np.nan), np.full(len(stats), np.nan)
    for i, (_, values) in enumerate(rows.groupby(x)[y]):
        if values.notna().sum() > 1:
            interval = t_interval(values.dropna().to_numpy())
            low[i], high[i] = interval.low, interval.high
    return low, high


PROPORTIONS: tuple[str, ...] = ("acc", "wf1", "macro_f1", "gold_prob", "kept_fraction")


def _is_proportion(metric: object) -> bool:
    """Whether an epochs-table metric lies in [0, 1], so that its band is drawn clipped to that range."""
    return str(metric) in PROPORTIONS or str(metric).startswith("f1_class_")


def _legends_outside(axes: np.ndarray) -> None:
    """Move each panel's legend to the right of its axes, where it covers no data."""
    import seaborn as sns

    for ax in axes.flat:
        if ax.get_legend() is not None:
            sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)


def _band_text(band: Band) -> str:
    return {"ci": "95% t-interval", "sd": "+-1 sd", "range": "range", "none": "no band"}[band]


def _spread_text(spread: str, band: Band, units: str, min_band_units: int) -> str:
    """What the legend says is drawn around the means: the band, each unit, or both by line."""
    if spread == "units":
        return f"thin lines: each {units}"
    if spread == "mixed":
        return f"{_band_text(band)} from {min_band_units} {units}s on, else each {units}"
    return _band_text(band if spread != "none" else "none")
