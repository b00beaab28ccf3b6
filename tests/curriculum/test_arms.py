"""The paced control arms replay the spcl run's counts; the paired design shares init and order."""

from __future__ import annotations

import numpy as np
import torch

from spcl_diag import load_runs, run
from spcl_diag.curriculum.arms import KeepRule, PacingRecord
from spcl_diag.runs.loading import load_difficulty


def test_random_and_anti_keep_exactly_the_recorded_count():
    pacing = PacingRecord(kept=np.array([[2, 0, 4]]), size=np.array([[4, 4, 4]]))
    d = torch.tensor([[0.3, 0.9, 0.1, 0.5]])
    random = KeepRule(("random",), pacing={"random": pacing}, generator=torch.Generator().manual_seed(0))
    anti = KeepRule(("anti",), pacing={"anti": pacing})
    for step, k in enumerate([2, 0, 4]):
        assert int(random.keep(d, 0.0, epoch=0, step=step).sum()) == k
    assert anti.keep(d, 0.0, epoch=0, step=0).tolist() == [[False, True, False, True]]  # two hardest


def test_random_arm_matches_spcl_counts_in_every_batch(tmp_path, tiny_config):
    random_run = run(tiny_config.paired("random"), tmp_path, device="cpu")  # runs its spcl twin first
    spcl_run = run(tiny_config.paired("spcl"), tmp_path, device="cpu")
    assert random_run.status == spcl_run.status == "ok"
    spcl_pacing = PacingRecord.load(str(spcl_run.path / "pacing.npz"))
    random_pacing = PacingRecord.load(str(random_run.path / "pacing.npz"))
    np.testing.assert_array_equal(spcl_pacing.kept, random_pacing.kept)
    np.testing.assert_array_equal(spcl_pacing.size, random_pacing.size)
    # ... but not the same utterances (the choice differs somewhere).
    v_spcl = load_difficulty(spcl_run.path)["v"]
    v_random = load_difficulty(random_run.path)["v"]
    assert v_spcl.sum() == v_random.sum()
    assert (v_spcl != v_random).any()


def test_arms_of_one_seed_share_initial_weights_and_batch_order(tmp_path, tiny_config):
    one_epoch = tiny_config.with_overrides({"train.epochs": 1, "pacing.lambda0": 0.0})
    runs = {arm: run(one_epoch.paired(arm), tmp_path, device="cpu") for arm in ("none", "spcl")}
    traj = {arm: load_difficulty(r.path) for arm, r in runs.items()}
    # The first batch is scored by the initial weights with the first dropout masks, before any
    # update: its difficulties agree exactly across arms only if init, order and dropout agree.
    first_batch_size = PacingRecord.load(str(runs["none"].path / "pacing.npz")).size[0, 0]
    equal = traj["none"]["l"][:, 0] == traj["spcl"]["l"][:, 0]
    assert equal.sum() >= first_batch_size
    tables = load_runs(tmp_path)
    kept = tables.epochs.query("metric == 'kept_fraction'").set_index("curriculum")["value"]
    assert kept["spcl"] == 0.0 and kept["none"] == 1.0


def test_other_seed_gives_other_initial_weights(tmp_path, tiny_config):
    one = tiny_config.with_overrides({"train.epochs": 1})
    a = load_difficulty(run(one, tmp_path, device="cpu").path)["l"][:, 0]
    b = load_difficulty(run(one.with_overrides({"seed": 1}), tmp_path, device="cpu").path)["l"][:, 0]
    assert not np.array_equal(a, b)
