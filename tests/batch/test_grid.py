"""Grid expansion, seed derivation and pairing, grid files."""

from __future__ import annotations

import numpy as np
import pytest

from spcl_diag.batch import Grid, derive_seeds, load_grid
from spcl_diag.batch.runner import schedule
from spcl_diag.errors import ConfigError

SMALL = {"train.epochs": 2, "model.hidden_dim": 8}


def test_expansion_is_the_product_with_spcl_first_and_paced_arms_last():
    grid = Grid(modalities=("tav", "ta"), curriculum=("random", "none", "spcl", "anti"), seed=(0, 1), overrides=SMALL)
    configs = grid.configs()
    assert len(configs) == 2 * 4 * 2
    assert len({c.run_id() for c in configs}) == len(configs)
    first_group = [c.curriculum for c in configs[:4]]
    assert first_group == ["spcl", "none", "random", "anti"]
    assert all(c.train.epochs == 2 and c.model["hidden_dim"] == 8 for c in configs)
    waves = schedule(configs)
    assert {c.curriculum for c in waves[0]} == {"spcl", "none"}
    assert {c.curriculum for c in waves[1]} == {"random", "anti"}


def test_runs_of_one_seed_are_paired_across_arms():
    grid = Grid(curriculum=("none", "spcl", "random"), seed=(3, 11), overrides=SMALL)
    configs = grid.configs()
    ids = {c.run_id() for c in configs}
    for config in configs:
        assert config.paired("spcl").run_id() in ids  # the random arm's twin is in the grid
        assert config.paired("none").run_id() in ids
    assert sorted({c.seed for c in configs}) == [3, 11]


def test_derived_seeds_follow_seed_sequence_and_are_shared_by_arms():
    grid = Grid(curriculum=("none", "spcl"), base_seed=2026, n_seeds=3, overrides=SMALL)
    expected = [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
                for c in np.random.SeedSequence(2026).spawn(3)]
    assert list(grid.seeds()) == expected == list(derive_seeds(2026, 3))
    by_seed: dict[int, set[str]] = {}
    for config in grid.configs():
        by_seed.setdefault(config.seed, set()).add(config.curriculum)
    assert list(by_seed) == expected and all(arms == {"none", "spcl"} for arms in by_seed.values())


def test_variants_axis_multiplies_runs_and_identical_variants_collapse():
    grid = Grid(curriculum=("spcl",), seed=(0,), overrides=SMALL,
                variants=({"pacing.normalisation": "batch"}, {"pacing.normalisation": "kept"}, {}))
    configs = grid.configs()
    assert sorted(c.pacing.normalisation for c in configs) == ["batch", "kept"]  # {} equals the default 'batch'


def test_grid_file_round_trip(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(
        'curriculum = ["none", "spcl"]\nbase_seed = 7\nn_seeds = 2\n\n[overrides]\n"train.epochs" = 2\n\n'
        '[[variants]]\n"train.lr" = 0.001\n'
    )
    grid = load_grid(path)
    assert grid.curriculum == ("none", "spcl") and grid.seeds() == derive_seeds(7, 2)
    assert grid.configs()[0].train.lr == 0.001
    assert load_grid(grid.to_dict()) == grid
    assert load_grid(grid.to_dict()).fingerprint() == grid.fingerprint()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"curriculums": ["none"], "seed": [0]}, r"unknown grid key 'curriculums'; did you mean 'curriculum'\? Valid keys are axes"),
        ({"seed": [0], "base_seed": 1, "n_seeds": 2}, "not both"),
        ({"curriculum": []}, "axis 'curriculum' is empty"),
        ({"seed": [0, 0]}, "seed values repeat"),
    ],
)
def test_grid_errors_name_the_problem(values, message):
    with pytest.raises(ConfigError, match=message):
        load_grid(values)


def test_invalid_axis_values_are_all_listed():
    grid = Grid(curriculum=("spcl", "sometimes"), backbone=("late_fusion", "nope"), seed=(0,))
    with pytest.raises(ConfigError, match="sometimes") as err:
        grid.configs()
    assert "nope" in str(err.value)


def test_a_bad_toml_file_is_a_config_error(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text("curriculum = [none]\n")
    with pytest.raises(ConfigError, match="grid.toml: not a valid TOML"):
        load_grid(path)
