"""A wrong grid: each distinct problem once, with the grid file and the entries that have it."""

from __future__ import annotations

import pytest

from spcl_diag.batch import Grid, load_grid
from spcl_diag.cli.main import main
from spcl_diag.errors import ConfigError

TOP_KEYS = "backbone, balancing, balancing_config, curriculum, data, dataset, modalities, model, pacing, plugins, seed, seed_role, train"
GRID_30 = 'modalities = ["tav", "ta", "tv", "av", "t"]\ncurriculum = ["none", "spcl", "random"]\nseed = [0, 1]\n'


def grid_error(tmp_path, text: str) -> str:
    path = tmp_path / "grid.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_grid(path)
    return str(err.value)


def test_a_misspelled_override_of_a_30_entry_grid_is_one_line(tmp_path, capsys):
    path = tmp_path / "grid.toml"
    path.write_text(GRID_30 + '[overrides]\n"trian.epochs" = 2\n')
    assert len(Grid(modalities=("tav", "ta", "tv", "av", "t"), curriculum=("none", "spcl", "random"),
                    seed=(0, 1)).configs()) == 30
    assert main(["batch", str(path), "--out", str(tmp_path / "runs")]) == 2
    assert capsys.readouterr().err == (
        f"spcl-diag batch: error: {path}: invalid grid: [overrides] unknown setting 'trian.epochs'; did you mean "
        f"'train.epochs'? Valid keys here are {TOP_KEYS}.\n"
    )
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_problem_of_every_entry_is_reported_once_with_the_count(tmp_path):
    text = GRID_30 + '[overrides]\n"train.epochs" = -1\n'
    assert grid_error(tmp_path, text) == (
        f"{tmp_path / 'grid.toml'}: invalid grid: all 30 grid entries: train.epochs must be a positive integer; got -1."
    )


def test_a_problem_of_some_entries_names_what_they_share(tmp_path):
    text = ('backbone = ["late_fusion", "mmgcn"]\nmodalities = ["tav", "ta"]\ncurriculum = ["none", "spcl"]\n'
            'balancing = ["pmr"]\nseed = [0]\n[overrides]\n"train.epochs" = 0\n')
    assert grid_error(tmp_path, text) == (
        f"{tmp_path / 'grid.toml'}: invalid grid:\n"
        "  - all 8 grid entries: train.epochs must be a positive integer; got 0\n"
        "  - 4 of 8 grid entries (backbone=mmgcn): balancing 'pmr' cannot train backbone 'mmgcn': it needs pure "
        "per-modality heads (logits of each modality computed from that modality alone), and mmgcn's heads are "
        "mixed across modalities; use ogm-ge, ada2i, agm with this backbone"
    )
    one = Grid(modalities=("tav", "t"), curriculum=("none",), balancing=("ogm-ge",), seed=(0, 1))
    with pytest.raises(ConfigError) as err:
        one.configs()
    assert str(err.value).startswith("invalid grid: 2 of 4 grid entries (modalities=t): balancing 'ogm-ge' cannot "
                                     "train on the single modality 't'")


def test_a_typed_string_is_refused_where_a_number_is_expected(tmp_path):
    text = ('curriculum = ["none"]\nseed = [0]\n[overrides]\n"train.epochs" = "3"\n'
            '[[variants]]\n"train.lr" = "1e-3"\n[[variants]]\n"pacing.lambda0" = "none"\n'
            '[axes]\n"train.batch_size" = [8, "16"]\n')
    assert grid_error(tmp_path, text) == (
        f"{tmp_path / 'grid.toml'}: invalid grid:\n"
        "  - [overrides] train.epochs must be an integer; got the string '3' (write it without quotes)\n"
        "  - [[variants]] table 1: train.lr must be a number; got the string '1e-3' (write it without quotes)\n"
        "  - [axes] train.batch_size must be an integer; got the string '16' (write it without quotes)"
    )
    grid = Grid(curriculum=("spcl",), seed=(0,), overrides={"train.epochs": 3},
                variants=({"pacing.lambda0": "none"}, {"pacing.lambda0": 0.5}))
    assert [c.pacing.lambda0 for c in grid.configs()] == [None, 0.5]


def test_missing_dataset_files_are_named_when_the_grid_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "there.pkl").write_bytes(b"")
    text = 'dataset = ["data/IEMOCAP.pkl", "there.pkl", "synthetic", "nope.npz"]\ncurriculum = ["none"]\nseed = [0, 1]\n'
    assert grid_error(tmp_path, text) == (
        f"{tmp_path / 'grid.toml'}: invalid grid: dataset files not found: data/IEMOCAP.pkl, nope.npz "
        f"(relative paths are read from {tmp_path})."
    )


def test_an_unknown_grid_key_suggests_the_closest(tmp_path):
    assert grid_error(tmp_path, 'curriculum = ["none"]\nseed = [0]\n[overides]\n"train.epochs" = 2\n') == (
        f"{tmp_path / 'grid.toml'}: invalid grid: unknown grid key 'overides'; did you mean 'overrides'? Valid keys "
        "are axes, backbone, balancing, base_seed, curriculum, dataset, modalities, n_seeds, overrides, plugins, "
        "seed, variants."
    )
