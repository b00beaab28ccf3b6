"""Critical-difference diagram of arms ranked over cells (Demšar 2006).

The input is a :class:`~spcl_diag.stats.ranking.Ranking`: the mean rank of each arm over
the cells and the Nemenyi critical difference. Arms whose mean ranks differ by less than the
critical difference (or all arms, when the Friedman test is not significant) are joined by a
thick bar: the test cannot tell them apart.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from spcl_diag.plots.style import ARM_COLORS


def indistinct_groups(mean_ranks: dict[str, float], critical_difference: float, *, significant: bool) -> list[list[str]]:
    """Maximal runs of rank-ordered arms whose mean ranks span at most the critical difference.

    With ``significant=False`` (Friedman not significant) every arm is in one group; with an
    undefined critical difference there are no groups.

    Examples
    --------
    >>> indistinct_groups({"spcl": 1.2, "random": 1.9, "none": 2.9}, 1.0, significant=True)
    [['spcl', 'random'], ['random', 'none']]
    """
    order = sorted(mean_ranks, key=mean_ranks.__getitem__)
    if not np.isfinite(critical_difference):
        return []
    if not significant:
        return [order] if len(order) > 1 else []
    groups: list[list[str]] = []
    for i, arm in enumerate(order):
        group = [b for b in order[i:] if mean_ranks[b] - mean_ranks[arm] <= critical_difference]
        if len(group) > 1 and not any(set(group) <= set(g) for g in groups):
            groups.append(group)
    return groups


def cd_diagram(ranking: Any, *, ax: Axes | None = None, **marker_kws: Any) -> Axes:
    """Mean rank of each arm on one axis (1 = best, left), the critical difference, the groups.

    Parameters
    ----------
    ranking
        A :class:`~spcl_diag.stats.ranking.Ranking` (``mean_ranks``, ``critical_difference``,
        ``friedman_p``, ``alpha``).
    ax
        Axes to draw on; a new figure when ``None``.
    **marker_kws
        Passed to ``Axes.scatter`` for the arm markers.

    Returns
    -------
    matplotlib.axes.Axes
        The arm markers are ``ax.collections[0]`` (x = mean rank, in rank order); the
        labels are the arm names.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 2.4))
    ranks = {str(k): float(v) for k, v in ranking.mean_ranks.items()}
    order = sorted(ranks, key=ranks.__getitem__)
    k, cd = len(order), float(ranking.critical_difference)
    significant = bool(np.isfinite(ranking.friedman_p) and ranking.friedman_p < ranking.alpha)
    kws = {"s": 40, "zorder": 3, **dict(marker_kws)}
    ax.scatter([ranks[a] for a in order], np.zeros(k), c=[ARM_COLORS.get(a, "#333333") for a in order], **kws)
    for i, arm in enumerate(order):
        y = 0.35 if i % 2 == 0 else -0.35
        ax.annotate(f"{arm} ({ranks[arm]:.2f})", (ranks[arm], 0), (ranks[arm], y), ha="center",
                    va="bottom" if y > 0 else "top", fontsize=9, arrowprops={"arrowstyle": "-", "lw": 0.6})
    groups = indistinct_groups(ranks, cd, significant=significant)
    for j, group in enumerate(groups):
        y = -0.9 - 0.18 * j
        ax.plot([ranks[group[0]] - 0.03, ranks[group[-1]] + 0.03], [y, y], color="#333333", lw=3, solid_capstyle="round")
    if np.isfinite(cd):
        ax.plot([1, 1 + cd], [0.95, 0.95], color="#333333", lw=1.2)
        ax.text(1 + cd / 2, 1.0, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
        title = f"Friedman p = {ranking.friedman_p:.3g}" + ("" if significant else " (not significant: no pair differs)")
    elif k == 2:  # no Friedman test for two arms: the ranking's own two-sided test
        title = str(ranking.verdict)
    else:
        title = "Friedman/Nemenyi not run (too few complete cells)"
    ax.set_title(title, fontsize=10)
    ax.set_xlim(0.7, max(k, 2) + 0.3)
    ax.set_ylim(-1.1 - 0.18 * max(len(groups), 1), 1.3)
    ax.set_xticks(range(1, max(k, 2) + 1))
    ax.set_xlabel("mean rank over cells (1 = best)")
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.axhline(0, color="#999999", lw=0.8, zorder=1)
    return ax


__all__ = ["cd_diagram", "indistinct_groups"]
