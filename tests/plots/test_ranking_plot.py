"""The critical-difference diagram draws the mean ranks and the indistinct groups it is given."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from spcl_diag.plots.ranking import cd_diagram, indistinct_groups


def _ranking(p: float, cd: float = 1.0) -> SimpleNamespace:
    ranks = pd.Series({"spcl": 1.2, "random": 1.9, "none": 2.9, "anti": 4.0})
    return SimpleNamespace(mean_ranks=ranks, critical_difference=cd, friedman_p=p, alpha=0.05)


def test_markers_sit_at_the_mean_ranks_and_bars_join_the_groups():
    ax = cd_diagram(_ranking(0.001))
    offsets = ax.collections[0].get_offsets()
    assert offsets[:, 0].tolist() == pytest.approx([1.2, 1.9, 2.9, 4.0])
    labels = [t.get_text() for t in ax.texts]
    assert "spcl (1.20)" in labels and "CD = 1.00" in labels
    bars = [line for line in ax.lines if line.get_linewidth() == 3]
    spans = sorted((round(min(b.get_xdata()) + 0.03, 6), round(max(b.get_xdata()) - 0.03, 6)) for b in bars)
    assert spans == [(1.2, 1.9), (1.9, 2.9)]  # anti is 1.1 > CD from none: alone


def test_not_significant_joins_everything_and_says_so():
    ax = cd_diagram(_ranking(0.4))
    bars = [line for line in ax.lines if line.get_linewidth() == 3]
    assert len(bars) == 1 and np.ptp(bars[0].get_xdata()) == pytest.approx(4.0 - 1.2 + 0.06)
    assert "not significant" in ax.get_title()


def test_groups_are_maximal_and_undefined_cd_draws_none():
    ranks = {"a": 1.0, "b": 1.5, "c": 1.8, "d": 3.5}
    assert indistinct_groups(ranks, 1.0, significant=True) == [["a", "b", "c"]]
    assert indistinct_groups(ranks, float("nan"), significant=True) == []
    assert "not run" in cd_diagram(_ranking(float("nan"), float("nan"))).get_title()
