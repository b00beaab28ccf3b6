"""Device batches: padding, masks and the flat order of utterances."""

from __future__ import annotations

import numpy as np
import torch

from spcl_diag.data.batching import DeviceSplit
from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic


def _split():
    data = make_synthetic(SyntheticConfig(n_dialogues=12, min_length=2, max_length=9, seed=3))
    return data, DeviceSplit(data, "train", "cpu")


def test_batches_cover_every_training_utterance_once():
    _, split = _split()
    order = np.random.default_rng(0).permutation(split.n_dialogues)
    seen = torch.cat([b.utterance_index for b in split.batches(order, 3)])
    assert sorted(seen.tolist()) == list(range(split.n_utterances))


def test_padded_features_and_flat_views_match_the_dataset():
    data, split = _split()
    order = np.array([4, 0, 2])
    batch = next(split.batches(order, 3))
    rows = data.utterance_rows(split.dialogues[order])
    assert batch.max_length == int(data.lengths[split.dialogues[order]].max())
    assert batch.mask.sum().item() == batch.n_utterances == len(rows)
    np.testing.assert_array_equal(batch.flatten(batch.features["t"]).numpy(), data.features["t"][rows])
    np.testing.assert_array_equal(batch.labels.numpy(), data.labels[rows])
    padded = batch.features["a"][~batch.mask]
    assert (padded == 0).all()
    assert batch.dialogue.tolist() == np.repeat([0, 1, 2], data.lengths[split.dialogues[order]]).tolist()
    roundtrip = batch.unflatten(batch.flatten(batch.features["v"]))
    torch.testing.assert_close(roundtrip, batch.features["v"])


def test_utterance_rows_orders_dialogues_as_asked():
    data, _ = _split()
    rows = data.utterance_rows(np.array([2, 0]))
    expected = np.r_[data.offsets[2] : data.offsets[3], data.offsets[0] : data.offsets[1]]
    np.testing.assert_array_equal(rows, expected)
