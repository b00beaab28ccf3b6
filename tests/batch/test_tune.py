"""Tuning: choose on tuning seeds, evaluate on disjoint fresh seeds, and never mix the two."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from spcl_diag.batch.tune import candidates, read_tune_grid, split_seeds
from spcl_diag.cli.main import main
from spcl_diag.errors import ConfigError
from spcl_diag.runs.loading import load_runs
from spcl_diag.stats.comparison import compare

GRID = """
curriculum = ["none", "spcl", "random"]
base_seed = 7

[overrides]
"train.epochs" = 1
"train.batch_size" = 4
"data.synthetic.n_dialogues" = 10
"data.synthetic.max_length" = 6
"model.hidden_dim" = 8
"model.feedforward_dim" = 16

[axes]
"train.lr" = [1e-4, 3e-3]
"""


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tune")
    grid = folder / "grid.toml"
    grid.write_text(GRID)
    out = folder / "runs"
    code = main(["tune", str(grid), "--out", str(out), "--tune-seeds", "2", "--eval-seeds", "2", "--device", "cpu", "--quiet"])
    assert code == 0
    return out, json.loads((out / "tune.json").read_text())


def test_tuning_and_evaluation_seeds_are_disjoint_and_recorded(tuned):
    out, record = tuned
    tune_seeds, eval_seeds = split_seeds(7, 2, 2)
    assert record["tune_seeds"] == list(tune_seeds) and record["eval_seeds"] == list(eval_seeds)
    assert set(tune_seeds).isdisjoint(eval_seeds)
    results = load_runs(out).results
    assert set(results.loc[results["seed_role"] == "tune", "seed"]) == set(tune_seeds)
    assert set(results.loc[results["seed_role"] == "eval", "seed"]) == set(eval_seeds)
    assert set(results["seed_role"]) == {"tune", "eval"}
    assert set(results.loc[results["run_id"].isin(record["eval_run_ids"]), "seed_role"]) == {"eval"}


def test_the_choice_is_the_best_dev_mean_over_the_tuning_seeds(tuned):
    out, record = tuned
    results = load_runs(out).results
    tuning = results[results["seed_role"] == "tune"]
    choices = {c["arm"]: c for c in record["choices"]}
    for arm in ("none", "spcl"):
        means = tuning[tuning["curriculum"] == arm].groupby("train.lr")["dev_wf1"].mean()
        assert choices[arm]["overrides"]["train.lr"] == pytest.approx(means.idxmax())
        assert choices[arm]["dev_mean"] == pytest.approx(means.max())
        recorded = {(m["arm"], m["candidate"]): m["dev_mean"] for m in record["dev_means"]}
        assert sorted(recorded[(arm, i)] for i in (0, 1)) == pytest.approx(sorted(means))
    assert choices["random"]["overrides"] == choices["spcl"]["overrides"]  # the paced control replays spcl's config
    assert not (tuning["curriculum"] == "random").any()  # nothing is tuned for it


def test_compare_refuses_to_mix_tuning_and_evaluation_seeds(tuned):
    out, _ = tuned
    results = load_runs(out).results
    with pytest.raises(ValueError, match="mix tuning and evaluation seeds"):
        compare(results, "test_wf1", rng=np.random.default_rng(0))
    table = compare(results[results["seed_role"] == "eval"], "test_wf1", rng=np.random.default_rng(0))
    assert set(table["n_seeds"]) == {2}


def test_bad_tuning_grids_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"\[axes\] table"):
        read_tune_grid({"curriculum": ["none"]})
    with pytest.raises(ConfigError, match="'seed' is set by tune"):
        read_tune_grid({"seed": [0, 1], "axes": {"train.lr": [1e-3]}})
    with pytest.raises(ConfigError, match="expected a non-empty list"):
        candidates({"train.lr": 1e-3})
    assert len(candidates({"train.lr": [1, 2], "pacing.growth": [1.1, 1.2, 1.3]})) == 6


def test_an_arm_is_tuned_only_over_the_fields_it_reads():
    axes = {"train.lr": [1, 2], "pacing.growth": [1.1, 1.2, 1.3], "balancing_config.alpha": [0.1, 0.5]}
    assert candidates(axes, curriculum="none") == [{"train.lr": 1}, {"train.lr": 2}]  # pacing and balancing unread
    assert len(candidates(axes, curriculum="spcl")) == 6
    assert len(candidates(axes, curriculum="none", balancing="ogm-ge")) == 4


def test_a_metric_without_a_better_side_cannot_select(tmp_path, monkeypatch):
    import importlib

    tune_module = importlib.import_module("spcl_diag.batch.tune")  # the module: spcl_diag.batch.tune is also the function
    monkeypatch.setattr(tune_module, "run_batch", lambda *args, **kwargs: None)  # no training needed to refuse
    grid = {"curriculum": ["none"], "overrides": {"train.epochs": 1}, "axes": {"train.lr": [1e-4, 1e-3]}}
    from spcl_diag.runs import loading

    class Tables:
        results = pd.DataFrame({"run_id": ["x"], "status": ["ok"], "dev_shapley_wf1_t": [0.1]})

    monkeypatch.setattr(loading, "load_runs", lambda out: Tables)
    with pytest.raises(ConfigError, match="has no better side"):
        tune_module.tune(grid, tmp_path, tune_seeds=1, eval_seeds=1, select="dev_shapley_wf1_t", device="cpu",
                         progress=False)


def _fake_tune(monkeypatch, tmp_path, dev_wf1, *, lrs=(1e-4, 1e-3), tune_seeds=3):
    """tune() over a grid of lrs without training: run_batch records configs, dev_wf1(lr, seed_index) scores them."""
    import importlib

    tune_module = importlib.import_module("spcl_diag.batch.tune")
    configs = []
    monkeypatch.setattr(tune_module, "run_batch", lambda grid, *args, **kwargs: configs.extend(grid.configs()))
    from spcl_diag.runs import loading

    tune_set, _ = split_seeds(0, tune_seeds, 1)

    class Tables:
        @property
        def results(self):
            return pd.DataFrame([{"run_id": c.run_id(), "status": "ok", "seed": c.seed, "curriculum": c.curriculum,
                                  "dev_wf1": dev_wf1(c.train.lr, tune_set.index(c.seed)) if c.seed in tune_set else 0.5}
                                 for c in configs])

    monkeypatch.setattr(loading, "load_runs", lambda out: Tables())
    grid = {"curriculum": ["none"], "base_seed": 0, "overrides": {"train.epochs": 1}, "axes": {"train.lr": list(lrs)}}
    return tune_module.tune(grid, tmp_path, tune_seeds=tune_seeds, eval_seeds=1, device="cpu", progress=False).record


def test_a_candidate_without_a_select_value_is_never_chosen(monkeypatch, tmp_path):
    # lr 1e-4 (listed first) has no dev_wf1 on any seed: nothing compares greater than nan
    record = _fake_tune(monkeypatch, tmp_path, lambda lr, s: np.nan if lr == 1e-4 else 0.6 + 0.01 * s)
    assert [c["overrides"] for c in record["choices"]] == [{"train.lr": 1e-3}]
    assert record["choices"][0]["dev_mean"] == pytest.approx(0.61)
    nan_entry = next(m for m in record["dev_means"] if m["candidate"] == 0)
    assert not nan_entry["eligible"] and "no dev_wf1 on any seed" in nan_entry["note"]
    everything_nan = _fake_tune(monkeypatch, tmp_path, lambda lr, s: np.nan)
    assert everything_nan["choices"] == [] and everything_nan["not_chosen"][0]["arm"] == "none"


def test_partial_candidates_are_named_and_compared_on_common_seeds(monkeypatch, tmp_path):
    # lr 1e-3 lacks seed index 2, where lr 1e-4 scored badly; on the common seeds 1e-3 is better
    scores = {1e-4: [0.60, 0.62, 0.20], 1e-3: [0.61, 0.63, np.nan]}
    record = _fake_tune(monkeypatch, tmp_path, lambda lr, s: scores[lr][s])
    means = {m["candidate"]: m for m in record["dev_means"]}
    assert means[0]["n_seeds"] == means[1]["n_seeds"] == 2  # today: 3 and 2 seeds, 1e-4 averaged over its bad seed
    assert means[0]["dev_mean"] == pytest.approx(0.61) and means[1]["dev_mean"] == pytest.approx(0.62)
    assert "no dev_wf1 on seed(s)" in means[1]["note"] and "2 common seed(s)" in means[1]["note"]
    assert record["choices"][0]["overrides"] == {"train.lr": 1e-3} and record["choices"][0]["n_seeds"] == 2
