"""SelfPacedCurriculum: the SPCL rule of the built-in loop, usable in any loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spcl_diag import SelfPacedCurriculum, run
from spcl_diag.curriculum.difficulty import harmonic_difficulty
from spcl_diag.runs.loading import load_difficulty


def _batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    joint = torch.randn(7, 3, generator=g, requires_grad=True)
    per_modality = {"t": torch.randn(7, 3, generator=g), "a": torch.randn(7, 3, generator=g)}
    labels = torch.randint(0, 3, (7,), generator=g)
    return joint, per_modality, labels


def test_step_follows_the_spcl_formulas_with_any_dialogue_ids():
    joint, per_modality, labels = _batch()
    dialogue = torch.tensor([40, 40, 40, 12, 12, 99, 99])  # dataset-level ids, not 0..B-1
    curriculum = SelfPacedCurriculum("spcl", lambda0=0.9, growth=1.5)
    step = curriculum.step(joint, per_modality, labels, dialogue)
    # reference: l_j, S_i^m summed per dialogue, c_i = std over modalities (N-1), d = harmonic mean
    l = F.cross_entropy(joint.detach(), labels, reduction="none")
    gold = torch.stack([z.softmax(-1)[torch.arange(7), labels] for z in per_modality.values()])
    c = torch.empty(7)
    for i in dialogue.unique():
        rows = dialogue == i
        c[rows] = gold[:, rows].sum(1).std(unbiased=True)
    d = harmonic_difficulty(l, c)
    assert torch.allclose(step.difficulty.conversation, c) and torch.allclose(step.difficulty.difficulty, d)
    assert step.keep.tolist() == (d <= 0.9).tolist()
    assert torch.isclose(step.loss, (l * (d <= 0.9)).sum() / 7)
    step.loss.backward()
    assert joint.grad is not None
    assert curriculum.epoch_end() == pytest.approx(1.35) and curriculum.value == pytest.approx(1.35)


def test_counts_replay_in_random_and_anti_and_kept_normalisation():
    spcl = SelfPacedCurriculum("spcl", lambda0=1.0)
    for epoch in range(2):
        for seed in range(3):
            joint, per_modality, labels = _batch(seed)
            spcl.step(joint, per_modality, labels, torch.tensor([0, 0, 1, 1, 1, 2, 2]))
        spcl.epoch_end()
    record = spcl.pacing_record()
    assert record.kept.shape == (2, 3) and (record.size == 7).all()
    for arm in ("random", "anti"):
        paired = SelfPacedCurriculum(arm, pacing=record, generator=torch.Generator().manual_seed(1),
                                     normalisation="kept")
        for epoch in range(2):
            for seed in range(3):
                joint, per_modality, labels = _batch(seed + 10)
                step = paired.step(joint, per_modality, labels, torch.tensor([0, 0, 1, 1, 1, 2, 2]))
                assert int(step.keep.sum()) == record.kept[epoch, seed]
                l = F.cross_entropy(joint.detach(), labels, reduction="none")
                assert torch.isclose(step.loss, (l * step.keep).sum() / max(1, int(step.keep.sum())))
            paired.epoch_end()


def test_bad_settings_are_one_error_listing_them():
    with pytest.raises(ValueError, match="unknown curriculum 'fast'; valid arms are none.*normalisation must be"):
        SelfPacedCurriculum("fast", normalisation="mean")
    with pytest.raises(ValueError, match="needs the pacing record"):
        SelfPacedCurriculum("anti")


def test_the_built_in_loop_selects_with_this_class(tmp_path, tiny_config, monkeypatch):
    """One implementation: the loop's keep masks are the class's, step by step."""
    kept: list[int] = []
    original = SelfPacedCurriculum.step

    def counting(self, *args, **kwargs):
        step = original(self, *args, **kwargs)
        kept.append(int(step.keep.sum()))
        return step

    monkeypatch.setattr(SelfPacedCurriculum, "step", counting)
    result = run(tiny_config.paired("spcl"), tmp_path, device="cpu")
    with np.load(result.path / "pacing.npz") as pacing:
        assert kept == pacing["kept"].ravel().tolist()
    assert load_difficulty(result.path)["v"].sum() == sum(kept)
