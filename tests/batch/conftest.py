"""A tiny grid whose runs train in about a second each on CPU."""

from __future__ import annotations

import pytest

from spcl_diag.batch import Grid

TINY = {
    "train.epochs": 2,
    "train.batch_size": 4,
    "data.synthetic.n_dialogues": 12,
    "data.synthetic.min_length": 3,
    "data.synthetic.max_length": 6,
    "model.hidden_dim": 8,
    "model.feedforward_dim": 16,
}


@pytest.fixture
def tiny_grid() -> Grid:
    """``none`` and ``spcl`` for seeds 0 and 1 (four runs)."""
    return Grid(curriculum=("none", "spcl"), seed=(0, 1), overrides=TINY)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models gain nothing from threads, and on a busy machine extra threads only contend."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
