"""``run_until_decided``: rounds of seeds until every comparison is decided, resumable from disk."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from spcl_diag.batch import Grid
from spcl_diag.batch.sequential import (
    SEQUENTIAL_FILE,
    _next_grids,
    _state,
    run_until_decided,
    seed_stream,
)
from spcl_diag.errors import ConfigError


def test_seed_stream_continues_the_grid_seeds():
    assert seed_stream(Grid(seed=(0, 2, 5)), 6) == (0, 2, 5, 1, 3, 4)
    derived = seed_stream(Grid(base_seed=7, n_seeds=2), 4)
    assert derived[:2] == Grid(base_seed=7, n_seeds=2).seeds() and len(set(derived)) == 4


def _results(diffs_by_arm, n):
    rows = []
    for s in range(n):
        rows.append({"dataset": "synthetic", "backbone": "late_fusion", "modalities": "tav", "balancing": "none",
                     "curriculum": "none", "seed": s, "status": "ok", "test_wf1": 0.5})
        for arm, d in diffs_by_arm.items():
            rows.append({**rows[-1], "curriculum": arm, "test_wf1": 0.5 + d(s)})
    return pd.DataFrame(rows)


def test_state_decides_and_only_undecided_comparisons_get_seeds():
    grid = Grid(curriculum=("none", "spcl", "random"), seed=(0, 1, 2, 3))
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.002, size=40)
    results = _results({"spcl": lambda s: 0.3 + noise[s], "random": lambda s: noise[s]}, 30)
    cells = [{"dataset": "synthetic", "backbone": "late_fusion", "modalities": "tav", "balancing": "none"}]
    state = _state(grid, results, cells, ["spcl", "random"], baseline="none", metric="test_wf1", n_start=4,
                   seeds_per_round=2, max_seeds=40, alpha=0.025, rope=0.0, bounds=(-0.5, 0.5), hib=True)
    spcl, random = state
    assert spcl["decision"] == "better" and random["decision"] == "undecided"
    assert spcl["n_seeds"] == 30 and [r["n_seeds"] for r in spcl["rounds"]][:3] == [4, 6, 8]
    first = next(r for r in spcl["rounds"] if r["decision"] == "better")
    assert first["low"] > 0 and first["e_value"] >= 1 / 0.025  # the e-value crossed 1/alpha
    subs = _next_grids(grid, [random], baseline="none", seeds_per_round=2, max_seeds=40)
    assert [(g.curriculum, g.seed) for g in subs] == [(("none", "random"), (30, 31))]


def test_a_batch_stops_at_max_seeds_writes_json_and_resumes(tmp_path, tiny_grid):
    out = tmp_path / "runs"
    summary = run_until_decided(tiny_grid, out, max_seeds=3, seeds_per_round=1, device="cpu", progress=False)
    assert len(summary.rounds) == 2 and summary.rounds[1].counts["done"] == 2  # none + spcl of seed 2
    record = json.loads((out / SEQUENTIAL_FILE).read_text())
    (comparison,) = record["comparisons"]
    assert comparison["seeds"] == [0, 1, 2] and comparison["at_max_seeds"]
    assert [r["n_seeds"] for r in comparison["rounds"]] == [2, 3]
    assert comparison["decision"] == comparison["rounds"][-1]["decision"] == "undecided"
    assert comparison["low"] <= comparison["estimate"] <= comparison["high"]
    again = run_until_decided(tiny_grid, out, max_seeds=3, seeds_per_round=1, device="cpu", progress=False)
    assert len(again.rounds) == 1 and again.rounds[0].counts["done"] == 0  # recomputed from disk, nothing trained
    assert json.loads((out / SEQUENTIAL_FILE).read_text())["comparisons"] == record["comparisons"]
    assert "1 comparisons after 1 rounds: 1 undecided" in again.line()


def test_invalid_options_are_listed():
    with pytest.raises(ConfigError, match="max_seeds must be an integer >= 2.*seeds_per_round"):
        run_until_decided(Grid(seed=(0,)), "unused", max_seeds=1, seeds_per_round=0)
    with pytest.raises(ConfigError, match="variants"):
        run_until_decided(Grid(seed=(0,), variants=({"train.lr": 1e-3}, {"train.lr": 3e-4})), "unused")
