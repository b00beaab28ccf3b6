"""ConversationDataset.from_arrays: data from memory, validated and fingerprinted as files are."""

from __future__ import annotations

import numpy as np
import pytest

from spcl_diag import ConversationDataset
from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
from spcl_diag.errors import DataFormatError


@pytest.fixture(scope="module")
def synthetic():
    return make_synthetic(SyntheticConfig(n_dialogues=10, min_length=2, max_length=5, seed=3))


def _columns(data: ConversationDataset, order: np.ndarray | None = None) -> dict:
    dialogue = np.repeat(data.dialogue_ids, data.lengths)
    order = np.arange(data.n_utterances) if order is None else order
    return {
        "features": {m: x[order].astype(np.float64) for m, x in data.features.items()},
        "labels": data.labels[order], "speakers": data.speakers[order], "dialogue_ids": dialogue[order],
        "splits": np.repeat(data.splits, data.lengths)[order], "label_names": data.label_names, "name": data.name,
    }


def test_arrays_give_the_same_dataset_and_fingerprint_in_any_utterance_order(synthetic):
    rebuilt = ConversationDataset.from_arrays(**_columns(synthetic))
    assert rebuilt.fingerprint() == synthetic.fingerprint()
    # dialogues interleaved (every first utterance, then every second, ...): each dialogue keeps its
    # utterances' order and the dialogues their order of first appearance, so nothing changes
    dialogue = np.repeat(np.arange(synthetic.n_dialogues), synthetic.lengths)
    position = np.concatenate([np.arange(n) for n in synthetic.lengths])
    order = np.lexsort((dialogue, position))
    interleaved = ConversationDataset.from_arrays(**_columns(synthetic, order))
    assert interleaved.fingerprint() == synthetic.fingerprint()
    assert interleaved.features["a"].dtype == np.float32 and interleaved.source_format == "memory"


def test_splits_as_a_mapping_and_speaker_names(synthetic):
    columns = _columns(synthetic)
    columns["splits"] = dict(zip(synthetic.dialogue_ids, synthetic.splits))
    columns["speakers"] = np.where(columns["speakers"] == 0, "M", "F")
    data = ConversationDataset.from_arrays(**columns)
    assert data.splits.tolist() == synthetic.splits.tolist()
    assert data.speakers.tolist() == np.where(synthetic.speakers == 0, 1, 0).tolist()  # "F" < "M"


def test_every_problem_is_named_with_dialogue_and_field(synthetic):
    columns = _columns(synthetic)
    columns["features"]["v"][1, 0] = np.nan  # first dialogue
    columns["labels"] = columns["labels"].copy()
    columns["labels"][-1] = 99
    with pytest.raises(DataFormatError, match=r"(?s)syn0000, field 'v': expected finite values.*syn0009, field 'labels'"):
        ConversationDataset.from_arrays(**columns)
    short = _columns(synthetic)
    short["speakers"] = short["speakers"][:-1]
    with pytest.raises(DataFormatError, match="field 'speakers': expected .* entries .* found"):
        ConversationDataset.from_arrays(**short)
    mixed = _columns(synthetic)
    mixed["splits"] = mixed["splits"].copy()
    mixed["splits"][0] = "test" if mixed["splits"][0] != "test" else "train"
    with pytest.raises(DataFormatError, match="dialogue syn0000, field 'splits': expected one split per dialogue"):
        ConversationDataset.from_arrays(**mixed)
