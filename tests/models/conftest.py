"""Tiny hyperparameters per backbone and a small synthetic dataset for the backbone tests."""

from __future__ import annotations

import pytest

from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic

TINY_MODELS: dict[str, dict[str, int]] = {
    "late_fusion": {"hidden_dim": 16, "feedforward_dim": 32},
    "dialogue_gcn": {"hidden_dim": 16, "hidden2_dim": 12, "feedforward_dim": 32, "n_bases": 4},
    "mmgcn": {"hidden_dim": 16, "feedforward_dim": 32},
    "mm_dfn": {"hidden_dim": 16, "feedforward_dim": 32},
    "biddin": {"hidden_dim": 16, "hidden2_dim": 12, "hidden3_dim": 8, "hidden4_dim": 8},
    "ada2i": {"hidden_dim": 16, "feedforward_dim": 32, "tensor_rank": 3},
}


@pytest.fixture(scope="session")
def small_dataset():
    """24 dialogues of 3..9 utterances, 3 speakers, all three modalities."""
    return make_synthetic(SyntheticConfig(n_dialogues=24, min_length=3, max_length=9, n_speakers=3, seed=5))


