"""Gradient-norm share from the tidy epochs table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spcl_diag.metrics import grad_norm_share, grad_norm_share_table


def test_share_ignores_shared_and_sums_to_one():
    share = grad_norm_share({"t": 2.0, "a": 1.0, "v": 1.0, "shared": 7.0})
    assert share == pytest.approx({"t": 0.5, "a": 0.25, "v": 0.25})
    with pytest.raises(ValueError, match="must be >= 0"):
        grad_norm_share({"t": -1.0, "a": 1.0})
    with pytest.warns(RuntimeWarning, match="at least two modalities"):
        assert np.isnan(grad_norm_share({"t": 1.0, "shared": 1.0})["t"])
    with pytest.warns(RuntimeWarning, match="zero"):
        assert np.isnan(grad_norm_share({"t": 0.0, "a": 0.0})["a"])


def test_table_groups_by_run_and_epoch():
    rows = []
    for run_id, scale in (("r1", 1.0), ("r2", 3.0)):
        for epoch in (1, 2):
            for scope, g in (("t", 3.0 * epoch), ("a", 1.0), ("shared", 9.0)):
                rows.append((run_id, epoch, "train", scope, "grad_norm", g * scale))
            rows.append((run_id, epoch, "train", "t", "loss", 0.5))
    epochs = pd.DataFrame(rows, columns=["run_id", "epoch", "split", "scope", "metric", "value"])
    table = grad_norm_share_table(epochs)
    assert set(table["metric"]) == {"grad_norm_share"} and set(table["scope"]) == {"t", "a"}
    for (run_id, epoch), group in table.groupby(["run_id", "epoch"]):
        share = dict(zip(group["scope"], group["value"]))
        assert share == pytest.approx(grad_norm_share({"t": 3.0 * epoch, "a": 1.0}))
