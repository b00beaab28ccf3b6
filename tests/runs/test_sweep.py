"""Sweeps: a grid's [axes] per arm over the fields it uses; compare() groups by the swept fields."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spcl_diag import compare
from spcl_diag.batch.grid import Grid, load_grid
from spcl_diag.errors import ConfigError
from spcl_diag.runs.sweep import group_by_sweeps

GRID = """
curriculum = ["none", "spcl"]
seed = [0, 1]

[axes]
"train.lr" = [1e-3, 3e-4]
"pacing.lambda0" = [0.3, 0.6]
"""


def test_axes_multiply_only_the_arms_that_use_the_field(tmp_path):
    (tmp_path / "grid.toml").write_text(GRID)
    configs = load_grid(tmp_path / "grid.toml").configs()
    per_seed = [c for c in configs if c.seed == 0]
    assert len(per_seed) == 6 and len(configs) == 12 and len({c.run_id() for c in configs}) == 12
    spcl = sorted((c.train.lr, c.pacing.lambda0) for c in per_seed if c.curriculum == "spcl")
    assert spcl == [(3e-4, 0.3), (3e-4, 0.6), (1e-3, 0.3), (1e-3, 0.6)]
    none = sorted((c.train.lr, c.pacing.lambda0) for c in per_seed if c.curriculum == "none")
    assert none == [(3e-4, None), (1e-3, None)]


def test_balancing_axes_apply_only_with_a_balancing_method():
    grid = Grid(curriculum=("none",), balancing=("none", "ogm-ge"), seed=(0,),
                axes={"balancing_config.alpha": [0.1, 0.5], "model.hidden_dim": [8, 16]})
    counts = pd.Series([c.balancing for c in grid.configs()]).value_counts().to_dict()
    assert counts == {"ogm-ge": 4, "none": 2}


@pytest.mark.parametrize("axes", [{"train.lr": 1e-3}, {"train.lr": []}, {"train.lr": "1e-3"}])
def test_an_axis_needs_a_list_of_values(axes):
    with pytest.raises(ConfigError, match="axes.train.lr must be a non-empty list"):
        Grid(seed=(0,), axes=axes)


def _results() -> pd.DataFrame:
    """A load_runs-shaped results frame of the GRID sweep with 3 seeds (none at its preset lambda0)."""
    rng = np.random.default_rng(1)
    rows = []
    for seed in range(3):
        for lr in (1e-3, 3e-4):
            rows.append({"curriculum": "none", "balancing": "none", "seed": seed, "dataset": "synthetic",
                         "train.lr": lr, "pacing.lambda0": 0.4, "test_wf1": 0.5 + rng.normal(0, 0.01)})
            for lam in (0.3, 0.6):
                rows.append({"curriculum": "spcl", "balancing": "none", "seed": seed, "dataset": "synthetic",
                             "train.lr": lr, "pacing.lambda0": lam, "test_wf1": 0.52 + lam / 10 + rng.normal(0, 0.01)})
    return pd.DataFrame(rows)


def test_compare_groups_by_the_swept_fields_against_the_shared_baseline():
    frame = _results()
    table = compare(frame, "test_wf1", by=("dataset",), rng=np.random.default_rng(0))
    assert len(table) == 4
    assert sorted(zip(table["train.lr"], table["pacing.lambda0"])) == [(3e-4, 0.3), (3e-4, 0.6), (1e-3, 0.3), (1e-3, 0.6)]
    for _, row in table.iterrows():
        base = frame.query("curriculum == 'none' and `train.lr` == @row['train.lr']").sort_values("seed")
        arm = frame.query("curriculum == 'spcl' and `train.lr` == @row['train.lr'] "
                          "and `pacing.lambda0` == @row['pacing.lambda0']").sort_values("seed")
        assert row["n_seeds"] == 3
        assert row["baseline_mean"] == pytest.approx(base["test_wf1"].mean())
        assert row["diff"] == pytest.approx((arm["test_wf1"].to_numpy() - base["test_wf1"].to_numpy()).mean())


def test_frames_without_sweeps_are_left_alone():
    frame = _results().query("`train.lr` == 0.001 and `pacing.lambda0` != 0.6")
    out, by = group_by_sweeps(frame, ["dataset"], arm_column="curriculum", pair_on="seed", baseline="none")
    assert by == ["dataset"] and out is frame
