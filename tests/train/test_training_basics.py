"""Training basics (issue 30, item 7): optimiser, learning-rate schedule, early stopping, gradient accumulation.

Each option is a ``train.*`` setting checked when the config is read, in the run id only when it is
not its default, written once for both loops (:mod:`spcl_diag.train.optimisation`, :mod:`spcl_diag.train.epoch`), and a stacked
arm trains as its solo run does with it (within float32 tolerance: the differential tests are in
``tests/train/test_stacked.py``, beside the others).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spcl_diag import RunConfig
from spcl_diag.errors import ConfigError
from spcl_diag.train.optimisation import Accumulation, LearningRates, make_optimizer

CPU = torch.device("cpu")

NEW = {"train.optimizer": "sgd", "train.scheduler": "cosine", "train.patience": 2, "train.grad_accumulation": 2}


def test_defaults_keep_the_run_id_and_each_setting_enters_it_when_changed():
    config = RunConfig(seed=3)
    assert not set(NEW) & {f"train.{k}" for k in config.identity()["train"]}  # omitted at their defaults
    recorded = config.with_overrides(NEW).to_dict()["train"]  # what config.json records
    assert {key: recorded[key.split(".")[1]] for key in NEW} == NEW
    ids = {config.run_id()}
    for key, value in NEW.items():
        changed = config.with_overrides({key: value})
        assert changed.identity()["train"][key.split(".")[1]] == value
        ids.add(changed.run_id())
    assert len(ids) == 1 + len(NEW)
    assert RunConfig.from_dict(config.with_overrides(NEW).to_dict()).run_id() == config.with_overrides(NEW).run_id()


@pytest.mark.parametrize(("override", "message"), [
    ("train.optimizer=rmsprop", "train.optimizer must be one of 'adam', 'adamw', 'sgd'; got 'rmsprop'"),
    ("train.scheduler=exponential", "train.scheduler must be one of 'none', 'cosine', 'step', 'plateau'"),
    ("train.patience=-1", r"train.patience must be an integer >= 0 \(0: no early stopping\); got -1"),
    ("train.grad_accumulation=0", r"train.grad_accumulation must be a positive integer \(1: no accumulation\); got 0"),
])
def test_a_bad_value_is_one_error_naming_the_key_and_what_it_accepts(override, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig().with_overrides([override])


def test_the_optimisers_are_adam_adamw_and_momentum_sgd():
    params = [torch.nn.Parameter(torch.zeros(2))]
    built = {name: make_optimizer(params, RunConfig().with_overrides({"train.optimizer": name}), CPU)
             for name in ("adam", "adamw", "sgd")}
    assert [type(o) for o in built.values()] == [torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD]
    assert built["sgd"].defaults["momentum"] == 0.9 and built["adamw"].defaults["weight_decay"] == 1e-8


@pytest.mark.parametrize("seed", [*range(5), "flat"])
def test_the_schedules_follow_torchs_schedulers(seed):
    epochs, lr = 23, 0.01
    rng = np.random.default_rng(0 if seed == "flat" else seed)
    scores = np.full(epochs, 0.5) if seed == "flat" else rng.random(epochs).round(1)  # ties, plateaus, improvements

    def torch_rates(make, metric=False):
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
        scheduler, rates = make(optimizer), []
        for e in range(epochs):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step(scores[e]) if metric else scheduler.step()
        return rates

    expected = {
        "none": [lr] * epochs,
        "cosine": torch_rates(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=epochs)),
        "step": torch_rates(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [epochs // 2, 3 * epochs // 4])),
        "plateau": torch_rates(lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, mode="max"), metric=True),
    }
    for kind, reference in expected.items():
        rates = LearningRates(RunConfig().with_overrides({"train.scheduler": kind, "train.lr": lr,
                                                          "train.epochs": epochs}), 1)
        got = []
        for e in range(epochs):
            got.append(float(rates.rates[0]))
            rates.epoch_end(e, {0: float(scores[e])})
        np.testing.assert_allclose(got, reference, rtol=1e-6, err_msg=kind)
    if seed == "flat":  # no better score after the first epoch: the first decay after 11 bad epochs
        assert expected["plateau"].index(lr * 0.1) == 12


def test_accumulated_gradients_are_the_mean_over_each_group():
    accumulation = Accumulation(3, 7)  # groups {0, 1, 2}, {3, 4, 5}, {6}
    assert [i for i in range(7) if accumulation.starts(i)] == [0, 3, 6]
    assert [i for i in range(7) if accumulation.updates(i)] == [2, 5, 6]
    one = torch.ones(())
    assert [accumulation.scale(one, i).item() for i in (0, 5, 6)] == pytest.approx([1 / 3, 1 / 3, 1.0])
    assert Accumulation(1, 7).scale(one, 4) is one


def test_a_paced_run_stops_where_its_spcl_twins_record_ends(tmp_path, tiny_config):
    from spcl_diag import load_runs, run

    config = tiny_config.with_overrides({"train.patience": 1, "train.epochs": 8, "train.lr": 3e-2})
    paced = run(config.paired("random"), tmp_path, device="cpu")  # trains its spcl twin first
    assert paced.status == "ok"
    epochs = load_runs(tmp_path).epochs.groupby("curriculum")["epoch"].max()
    assert epochs["random"] == epochs["spcl"] < 8
    with np.load(paced.path / "pacing.npz") as pacing:
        assert pacing["kept"].shape[0] == epochs["spcl"]


def test_the_training_basics_round_trip_through_a_config_file(tmp_path):
    from spcl_diag.config.file import read_config_file, write_config_file

    config = RunConfig(seed=1).with_overrides(NEW)
    path = write_config_file(config, tmp_path / "run.toml")
    assert 'optimizer = "sgd"' in path.read_text() or "optimizer = 'sgd'" in path.read_text()
    assert read_config_file(path).run_id() == config.run_id()
    (tmp_path / "bad.toml").write_text('[train]\npatience = "2"\n')
    with pytest.raises(ConfigError, match="train.patience must be an integer"):
        read_config_file(tmp_path / "bad.toml")
