"""The SPCL rule against hand-computed values on tiny batches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spcl_diag.curriculum.arms import KeepRule, selection_loss
from spcl_diag.curriculum.difficulty import (
    conversation_difficulty,
    harmonic_difficulty,
    spcl_difficulty,
    utterance_difficulty,
)
from spcl_diag.curriculum.pacing import SelfPacedThreshold


def _softmax_gold(logits: list[float], gold: int) -> float:
    e = [math.exp(x) for x in logits]
    return e[gold] / sum(e)


# Two dialogues: utterances 0,1 in dialogue 0; utterance 2 in dialogue 1.
JOINT = torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 0.0]])
PER_MODALITY = {
    "t": torch.tensor([[3.0, 0.0], [0.0, 3.0], [3.0, 0.0]]),
    "a": torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 3.0]]),
}
LABELS = torch.tensor([0, 1, 0])
DIALOGUE = torch.tensor([0, 0, 1])


def _hand_terms() -> tuple[list[float], list[float]]:
    l = [-math.log(_softmax_gold([2, 0], 0)), -math.log(_softmax_gold([0, 2], 1)), -math.log(_softmax_gold([1, 0], 0))]
    s_t0 = _softmax_gold([3, 0], 0) + _softmax_gold([0, 3], 1)
    s_a0 = _softmax_gold([1, 0], 0) + _softmax_gold([0, 1], 1)
    s_t1, s_a1 = _softmax_gold([3, 0], 0), _softmax_gold([0, 3], 0)
    # std with N-1 of two values = |x - y| / sqrt(2)
    c0, c1 = abs(s_t0 - s_a0) / math.sqrt(2), abs(s_t1 - s_a1) / math.sqrt(2)
    return l, [c0, c0, c1]


def test_terms_match_hand_computation():
    l, c = _hand_terms()
    got = spcl_difficulty(JOINT, PER_MODALITY, LABELS, DIALOGUE, 2)
    np.testing.assert_allclose(got.utterance.numpy(), l, rtol=1e-6)
    np.testing.assert_allclose(got.conversation.numpy(), c, rtol=1e-6)
    expected_d = [2 * a * b / (a + b) for a, b in zip(l, c)]
    np.testing.assert_allclose(got.difficulty.numpy(), expected_d, rtol=1e-6)


def test_conversation_term_is_a_sum_not_a_mean():
    """Doubling a dialogue (same utterances twice) doubles S_i^m and so c_i."""
    labels = torch.tensor([0, 1, 0, 1])
    doubled = {m: torch.cat([z[:2], z[:2]]) for m, z in PER_MODALITY.items()}
    single = conversation_difficulty({m: z[:2] for m, z in PER_MODALITY.items()}, labels[:2], torch.tensor([0, 0]), 1)
    double = conversation_difficulty(doubled, labels, torch.tensor([0, 0, 0, 0]), 1)
    assert double[0].item() == pytest.approx(2 * single[0].item(), rel=1e-6)


def test_three_modalities_use_the_unbiased_std():
    z = {m: torch.tensor([[float(k), 0.0]]) for k, m in enumerate("tav")}
    c = conversation_difficulty(z, torch.tensor([0]), torch.tensor([0]), 1)
    golds = [_softmax_gold([float(k), 0.0], 0) for k in range(3)]
    assert c.item() == pytest.approx(float(np.std(golds, ddof=1)), rel=1e-6)


def test_single_modality_drops_the_conversation_term():
    only_text = {"t": PER_MODALITY["t"]}
    got = spcl_difficulty(JOINT, only_text, LABELS, DIALOGUE, 2)
    assert torch.isnan(got.conversation).all()
    torch.testing.assert_close(got.difficulty, utterance_difficulty(JOINT, LABELS))


def test_harmonic_mean_is_zero_when_either_term_is_zero():
    l = torch.tensor([0.0, 1.0, 0.0, 2.0])
    c = torch.tensor([1.0, 0.0, 0.0, 2.0])
    assert harmonic_difficulty(l, c).tolist() == [0.0, 0.0, 0.0, 2.0]


@pytest.mark.parametrize(
    ("arm", "expected"),
    [("spcl-utterance", "utterance"), ("spcl-conversation", "conversation")],
)
def test_ablations_rank_by_one_term(arm, expected):
    terms = {"spcl-utterance": "utterance", "spcl-conversation": "conversation"}[arm]
    got = spcl_difficulty(JOINT, PER_MODALITY, LABELS, DIALOGUE, 2, terms=terms)
    torch.testing.assert_close(got.difficulty, getattr(got, expected))


def _select(arm: str, d: list[float], lam: float) -> list[bool]:
    return KeepRule((arm,)).keep(torch.tensor([d]), lam, epoch=0, step=0)[0].tolist()


def test_selection_all_kept_none_kept_and_ties():
    d = [0.1, 0.5, 0.5, 0.9]
    assert _select("spcl", d, 1.0) == [True] * 4  # all kept
    assert _select("spcl", d, 0.05) == [False] * 4  # none kept
    assert _select("spcl", d, 0.5) == [True, True, True, False]  # d == lambda is kept (<=)
    assert _select("none", d, 0.0) == [True] * 4


def test_selection_loss_normalisations_including_none_kept():
    l = torch.tensor([1.0, 2.0, 3.0])
    nothing = torch.zeros(3, dtype=torch.bool)
    assert selection_loss(l, nothing, normalisation="batch").item() == 0.0
    assert selection_loss(l, nothing, normalisation="kept").item() == 0.0  # max(1, 0) divisor
    everything = torch.ones(3, dtype=torch.bool)
    assert selection_loss(l, everything, normalisation="batch").item() == pytest.approx(2.0)
    assert selection_loss(l, everything, normalisation="kept").item() == pytest.approx(2.0)


def test_threshold_grows_geometrically_to_the_cap():
    threshold = SelfPacedThreshold(0.4, 2.0, cap=60.0)
    values = [threshold.value] + [threshold.step() for _ in range(10)]
    assert values[:4] == pytest.approx([0.4, 0.8, 1.6, 3.2])
    assert max(values) == 60.0 and values[-1] == 60.0
