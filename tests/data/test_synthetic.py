"""The synthetic benchmark: determinism, structure, and informativeness that does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
from spcl_diag.errors import DataFormatError


def _centroid_accuracy(x: np.ndarray, y: np.ndarray, n_train: int) -> float:
    """Nearest-class-mean accuracy, a quick unimodal probe."""
    classes = np.unique(y[:n_train])
    means = np.stack([x[:n_train][y[:n_train] == c].mean(0) for c in classes])
    pred = classes[((x[n_train:, None, :] - means[None]) ** 2).sum(-1).argmin(1)]
    return float((pred == y[n_train:]).mean())


def test_same_seed_same_data_other_seed_other_data():
    a = make_synthetic(SyntheticConfig(n_dialogues=20, seed=5))
    b = make_synthetic(SyntheticConfig(n_dialogues=20, seed=5))
    c = make_synthetic(SyntheticConfig(n_dialogues=20, seed=6))
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_structure_splits_and_speakers():
    data = make_synthetic(SyntheticConfig(n_dialogues=50, min_length=4, max_length=10))
    assert data.lengths.min() >= 4 and data.lengths.max() <= 10
    assert set(data.splits) == {"train", "dev", "test"}
    assert data.summary()["splits"]["train"]["dialogues"] == 35
    assert set(np.unique(data.speakers)) == {0, 1}
    assert data.features["t"].dtype == np.float32


def test_informativeness_orders_unimodal_accuracy():
    config = SyntheticConfig(n_dialogues=300, informativeness={"t": 2.0, "a": 0.8, "v": 0.0}, seed=1)
    data = make_synthetic(config)
    n_train = int(data.offsets[210])
    acc = {m: _centroid_accuracy(data.features[m], data.labels, n_train) for m in "tav"}
    chance = np.bincount(data.labels).max() / len(data.labels)
    assert acc["t"] > acc["a"] > acc["v"]
    assert acc["v"] < chance + 0.08  # zero informativeness: little beyond the context echo


def test_emotions_persist_within_a_dialogue():
    data = make_synthetic(SyntheticConfig(n_dialogues=100, persistence=0.95, turn_change=0.0))
    same = [(data.labels[lo + 1 : hi] == data.labels[lo : hi - 1]).mean() for lo, hi in zip(data.offsets[:-1], data.offsets[1:])]
    assert np.mean(same) > 0.85


def test_bad_parameters_are_reported_together():
    with pytest.raises(ValueError, match="informativeness must be >= 0.*min_length"):
        SyntheticConfig(informativeness={"t": -1.0, "a": 1.0, "v": 1.0}, min_length=5, max_length=2)


def test_dataset_validation_names_the_dialogue():
    data = make_synthetic(SyntheticConfig(n_dialogues=5))
    bad = data.features["a"].copy()
    bad[data.offsets[3]] = np.nan
    with pytest.raises(DataFormatError, match=r"syn0003, field 'a'.*NaN"):
        type(data)(**{**data.__dict__, "features": {**data.features, "a": bad}})
