"""The forest plot of a meta-analysis draws what meta_table holds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spcl_diag.plots.meta_forest import plot_meta_forest


def _table():
    return pd.DataFrame({
        "kind": ["cell", "cell", "cell", "pooled", "prediction"],
        "cell": ["a", "b", "c", "pooled (dl)", "prediction (new cell)"],
        "n_seeds": [5, 5, 5, 15, np.nan],
        "diff": [0.01, 0.03, 0.02, 0.02, 0.02],
        "ci_low": [0.0, 0.01, 0.005, 0.012, -0.01],
        "ci_high": [0.02, 0.05, 0.035, 0.028, 0.05],
        "weight": [0.2, 0.5, 0.3, 1.0, np.nan],
    })


def test_rows_diamond_and_prediction_interval_are_drawn_from_the_table():
    table = _table()
    ax = plot_meta_forest(table)
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 0], table["diff"][:3])
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], [0, -1, -2])
    diamond = ax.patches[0].get_xy()[:, 0]
    assert diamond.min() == pytest.approx(0.012) and diamond.max() == pytest.approx(0.028)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [-0.01, 0.05])
    assert [t.get_text() for t in ax.get_yticklabels()] == table["cell"].tolist()
    sizes = ax.collections[0].get_sizes()
    assert sizes[1] == sizes.max()  # the heaviest cell has the largest square


def test_without_a_prediction_interval_and_bad_input():
    table = _table()
    table.loc[4, ["ci_low", "ci_high"]] = np.nan
    ax = plot_meta_forest(table)
    assert not ax.lines[1:] and len(ax.get_yticklabels()) == 4
    with pytest.raises(ValueError, match="lacks column"):
        plot_meta_forest(table.drop(columns="weight"))
