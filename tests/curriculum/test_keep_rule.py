"""The vectorised keep rule equals the loop-based selection of each arm (issue 26, item 4).

:class:`Selector` below is the package's former per-arm selection, written arm by arm and one batch
at a time; it stays here as the reference that :class:`~spcl_diag.curriculum.arms.KeepRule` (one
rule over ``[A, N]``, called by both curricula) is checked against.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor

from spcl_diag.curriculum.arms import (
    ARMS,
    PACED_ARMS,
    THRESHOLD_ARMS,
    KeepRule,
    PacingRecord,
    paired_count,
    top_k_mask,
)
from spcl_diag.curriculum.self_paced import SelfPacedCurriculum
from spcl_diag.curriculum.stacked import StackedCurriculum


class Selector:
    """Reference: chooses the kept utterances ``v`` of each batch for one arm (the former implementation)."""

    def __init__(self, arm: str, *, pacing: PacingRecord | None = None, generator: torch.Generator | None = None):
        self.arm, self.pacing, self.generator = arm, pacing, generator

    def select(self, d: Tensor, threshold: float, *, epoch: int, step: int) -> Tensor:
        if self.arm == "none":
            return torch.ones_like(d, dtype=torch.bool)
        if self.arm in THRESHOLD_ARMS:
            return d <= threshold
        assert self.pacing is not None
        k = paired_count(self.pacing, epoch, step, len(d))
        scores = torch.rand(d.shape, generator=self.generator) if self.arm == "random" else d
        return top_k_mask(scores, k)


def _case(seed: int):
    """Random difficulties (with ties: values on a coarse grid), threshold, arm subset and pacing record."""
    rng = np.random.default_rng(seed)
    n_steps, n = int(rng.integers(1, 4)), int(rng.integers(1, 12))
    arms = tuple(rng.permutation(ARMS)[: int(rng.integers(1, len(ARMS) + 1))])
    d = torch.from_numpy(rng.integers(0, 5, (n_steps, len(arms), n)) / 4).float()  # ties, and d == threshold
    threshold = float(rng.choice([0.0, 0.25, 0.5, 1.0, 2.0, rng.uniform(0, 1)]))
    kept = rng.integers(0, n + 1, (2, n_steps))
    return arms, d, threshold, PacingRecord(kept=kept, size=np.full((2, n_steps), n)), int(rng.integers(0, 2))


@pytest.mark.parametrize("seed", range(200))
def test_the_vectorised_rule_equals_the_loop_reference(seed):
    arms, d, threshold, record, epoch = _case(seed)
    rule = KeepRule(arms, pacing=dict.fromkeys(arms, record), generator=torch.Generator().manual_seed(seed))
    reference_generator = torch.Generator().manual_seed(seed)
    spcl = arms.index("spcl") if "spcl" in arms else None
    for step in range(d.shape[0]):
        got = rule.keep(d[step], threshold, epoch=epoch, step=step)
        assert got.shape == d[step].shape and got.dtype == torch.bool
        live = None  # paced arms beside an spcl arm keep its count of this step, as a record of it
        if spcl is not None:
            count = int((d[step, spcl] <= threshold).sum())
            live = PacingRecord(kept=np.full((2, d.shape[0]), count), size=record.size)
        for a, arm in enumerate(arms):
            pacing = (live if live is not None else record) if arm in PACED_ARMS else None
            expected = Selector(arm, pacing=pacing, generator=reference_generator).select(
                d[step, a], threshold, epoch=epoch, step=step)
            assert got[a].tolist() == expected.tolist(), (seed, arm, step)


def test_paced_counts_outside_or_unpaired_with_the_record_are_refused():
    record = PacingRecord(kept=np.array([[2]]), size=np.array([[5]]))
    with pytest.raises(ValueError, match="not paired"):
        KeepRule(("anti",), pacing={"anti": record}).keep(torch.zeros(1, 2), 0.0, epoch=0, step=0)
    with pytest.raises(ValueError, match="epoch 2, batch 1 is outside it"):
        KeepRule(("anti",), pacing={"anti": record}).keep(torch.zeros(1, 5), 0.0, epoch=1, step=0)


@pytest.mark.parametrize("make", [
    lambda **kw: SelfPacedCurriculum("fast", **kw),
    lambda **kw: StackedCurriculum(("fast", "none"), **kw),
])
def test_both_curricula_validate_their_settings_with_one_validator(make):
    with pytest.raises(ValueError, match=(
        r"Curriculum: unknown curriculum 'fast'; valid arms are none, spcl.*; "
        r"lambda0 must be >= 0 and growth and cap > 0; got -1, 0, 0; normalisation must be 'batch' or 'kept'")):
        make(lambda0=-1, growth=0, cap=0, normalisation="mean")


def test_paced_arms_need_a_record_or_the_spcl_arm_and_random_a_generator():
    message = "arm 'anti' needs the pacing record of its paired spcl run"
    with pytest.raises(ValueError, match=message):
        SelfPacedCurriculum("anti")
    with pytest.raises(ValueError, match=message):
        StackedCurriculum(("none", "anti"))
    StackedCurriculum(("spcl", "anti"))  # the live spcl arm paces it
    with pytest.raises(ValueError, match="arm 'random' needs a torch.Generator"):
        StackedCurriculum(("spcl", "random"))
