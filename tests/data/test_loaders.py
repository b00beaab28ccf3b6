"""Every supported format, written in its exact layout in tmp_path and loaded back."""

from __future__ import annotations

import numpy as np
import pytest

from spcl_diag.data import load
from spcl_diag.data.loaders import read_file, write_bundle

from .helpers import (
    IEMOCAP_IDS,
    LENGTHS,
    cosmic,
    iemocap_tuple,
    meld_tuple,
    spcl_dict,
    write_pickle,
)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPCL_DIAG_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_dialoguegcn_iemocap(tmp_path, protocol):
    data = load(write_pickle(iemocap_tuple(), tmp_path / "IEMOCAP_features.pkl", protocol=protocol))
    assert data.source_format == "dialoguegcn-iemocap"
    assert data.dims == {"t": 100, "a": 100, "v": 512}
    assert data.dialogue_ids.tolist() == IEMOCAP_IDS
    assert data.lengths.tolist() == LENGTHS
    # the first 10% of the 4 training dialogues (at least one) become dev, in file order
    assert data.splits.tolist() == ["dev", "train", "train", "train", "test"]
    assert data.dev_origin == "fixed"
    assert data.speakers[:3].tolist() == [0, 1, 0]  # M, F, M


def test_mmgcn_iemocap_and_named_format(tmp_path):
    path = write_pickle(iemocap_tuple((100, 1582, 342)), tmp_path / "IEMOCAP_features.pkl")
    assert load(path).source_format == "mmgcn-iemocap"
    assert load(path, "mmgcn-iemocap").dims == {"t": 100, "a": 1582, "v": 342}


def test_mmgcn_meld_one_hot_speakers(tmp_path):
    data = load(write_pickle(meld_tuple(), tmp_path / "MELD_features_raw1.pkl"))
    assert data.source_format == "mmgcn-meld"
    assert data.dims == {"t": 600, "a": 300, "v": 342}
    assert data.dialogue_ids.tolist() == ["0", "1", "2", "3", "4"]
    assert data.speakers[:4].tolist() == [0, 1, 2, 0]
    assert data.label_names[0] == "neutral"


@pytest.mark.parametrize("meld", [False, True])
def test_spcl_dicts(tmp_path, meld):
    data = load(write_pickle(spcl_dict(meld), tmp_path / "data.pkl", protocol=4))
    assert data.source_format == ("spcl-meld" if meld else "spcl-iemocap")
    assert data.dims == ({"t": 768, "a": 300, "v": 342} if meld else {"t": 768, "a": 512, "v": 1024})


@pytest.mark.parametrize("meld", [False, True])
def test_cosmic_metadata_keeps_official_dev(tmp_path, meld):
    data = load(write_pickle(cosmic(meld), tmp_path / "meta.pkl"))
    assert data.source_format == ("cosmic-meld" if meld else "cosmic-iemocap")
    assert data.modalities == ""
    assert data.splits.tolist() == ["train", "train", "train", "dev", "test"]
    assert data.dev_origin == "file"


def test_seeded_dev_split_depends_on_the_generator(tmp_path):
    ids = [f"Ses0{k % 4 + 1}F_d{k}" for k in range(40)]
    obj = iemocap_tuple()
    for field in range(7):
        first = next(iter(obj[field].values()))
        obj[field] = {d: first for d in ids}
    obj[7], obj[8] = ids[:30], ids[30:]
    path = write_pickle(obj, tmp_path / "big.pkl")
    fixed = load(path)
    assert fixed.dialogue_ids[fixed.splits == "dev"].tolist() == ids[:3]
    a = load(path, rng=np.random.default_rng(1))
    b = load(path, rng=np.random.default_rng(1))
    assert a.dev_origin == "seeded" and (a.splits == b.splits).all()
    assert (a.splits == "dev").sum() == 3 and set(a.dialogue_ids[a.splits == "dev"]) <= set(ids[:30])


def test_sets_of_ids_are_ordered_reproducibly(tmp_path):
    obj = iemocap_tuple()
    obj[7] = set(obj[7])
    data = load(write_pickle(obj, tmp_path / "f.pkl"))
    assert data.dialogue_ids[:4].tolist() == sorted(IEMOCAP_IDS[:4])


def test_cache_is_used_and_keyed_by_content(tmp_path):
    path = write_pickle(iemocap_tuple(), tmp_path / "f.pkl")
    first = load(path)
    entries = list((tmp_path / "cache").glob("*.npz"))
    assert len(entries) == 1
    second = load(path)
    assert second.source_format == first.source_format and second.fingerprint() == first.fingerprint()
    obj = iemocap_tuple()
    obj[3][IEMOCAP_IDS[0]] = obj[3][IEMOCAP_IDS[0]] + 1.0
    write_pickle(obj, path)  # same name, new content: a new entry, never the stale one
    third = load(path)
    assert third.fingerprint() != first.fingerprint()
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2


def test_cache_beside_the_file_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("SPCL_DIAG_CACHE")
    load(write_pickle(iemocap_tuple(), tmp_path / "f.pkl"))
    assert len(list((tmp_path / ".spcl_diag_cache").glob("f.auto.*.npz"))) == 1


def test_convert_round_trip_and_modalities(tmp_path):
    source = read_file(write_pickle(meld_tuple(), tmp_path / "m.pkl"))
    out = write_bundle(source, tmp_path / "m.npz")
    back = load(out, modalities="ta")
    assert back.source_format == "npz" and back.modalities == "ta"
    np.testing.assert_array_equal(back.features["a"], source.features["a"])
    assert back.dialogue_ids.tolist() == source.dialogue_ids.tolist()
