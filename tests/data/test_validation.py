"""Safe loading and validation: every problem is reported with file, dialogue and field."""

from __future__ import annotations

import os
import pickle
import zipfile

import numpy as np
import pytest

from spcl_diag.data import load
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.data.safe_pickle import UnsafePickleError
from spcl_diag.errors import DataFormatError

from .helpers import IEMOCAP_IDS, iemocap_tuple, write_pickle

BAD = IEMOCAP_IDS[1]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPCL_DIAG_CACHE", str(tmp_path / "cache"))


def _no_cache_written(tmp_path):
    return not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


class _WritesMarker:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class _RunsShell:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", [_WritesMarker, _RunsShell])
@pytest.mark.parametrize("protocol", [2, 5])
def test_code_carrying_pickle_is_refused_and_never_runs(tmp_path, payload, protocol):
    marker = tmp_path / "marker"
    obj = iemocap_tuple()
    obj[3][BAD] = payload(marker)
    path = write_pickle(obj, tmp_path / "evil.pkl", protocol=protocol)
    with pytest.raises(UnsafePickleError, match="not a plain feature file"):
        load(path)
    assert not marker.exists()
    assert _no_cache_written(tmp_path)


def _broken(tmp_path, edit, fmt=None):
    obj = iemocap_tuple()
    edit(obj)
    path = write_pickle(obj, tmp_path / "IEMOCAP_features.pkl")
    with pytest.raises(DataFormatError) as info:
        load(path, fmt)
    assert _no_cache_written(tmp_path)
    return str(info.value)


def test_length_mismatch(tmp_path):
    message = _broken(tmp_path, lambda o: o[4].update({BAD: o[4][BAD][:-1]}))
    assert message == (f"IEMOCAP_features.pkl, dialogue {BAD}, field 'audio': expected 4 utterances "
                       "(as in labels, speakers, text, visual), found 3.")


def test_wrong_dimension_for_named_format(tmp_path):
    obj = iemocap_tuple((100, 1582, 342))
    path = write_pickle(obj, tmp_path / "IEMOCAP_features.pkl")
    with pytest.raises(DataFormatError, match=f"IEMOCAP_features.pkl: 10 problems:\n  - dialogue {IEMOCAP_IDS[0]}, "
                       "field 'audio': expected 100 features per utterance, found 1582"):
        load(path, "dialoguegcn-iemocap")


def test_inconsistent_dimension(tmp_path):
    message = _broken(tmp_path, lambda o: o[5].update({BAD: np.ones((4, 7))}))
    assert f"dialogue {BAD}, field 'visual': expected 512 features per utterance (as in dialogue " in message


def test_ragged_rows(tmp_path):
    message = _broken(tmp_path, lambda o: o[3].update({BAD: [np.ones(100), np.ones(99), np.ones(100), np.ones(100)]}))
    assert f"dialogue {BAD}, field 'text': utterances have different feature widths" in message


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite(tmp_path, value):
    def edit(o):
        o[3][BAD][2, 5] = value
    assert f"dialogue {BAD}, field 'text': expected finite values, found NaN or inf in 1 utterance(s)" in _broken(tmp_path, edit)


def test_label_out_of_range(tmp_path):
    message = _broken(tmp_path, lambda o: o[2].update({BAD: [0, 1, 6, 2]}))
    assert f"dialogue {BAD}, field 'labels': expected classes in 0..5, found 6" in message


def test_empty_dialogue(tmp_path):
    def edit(o):
        for field in range(1, 7):
            o[field][BAD] = np.zeros((0, o[field][BAD].shape[1])) if field in (3, 4, 5) else []
    assert f"dialogue {BAD}: empty dialogue" in _broken(tmp_path, edit)


def test_split_id_missing(tmp_path):
    message = _broken(tmp_path, lambda o: o[8].append("Ses05M_ghost"))
    assert "dialogue Ses05M_ghost, field 'testVid': listed in testVid but absent from the data" in message


def test_unknown_speaker_letter(tmp_path):
    message = _broken(tmp_path, lambda o: o[1].update({BAD: ["M", "X", "F", "M"]}))
    assert f"dialogue {BAD}, field 'speakers': expected speaker letters M or F" in message


def test_all_problems_listed_in_one_error(tmp_path):
    def edit(o):
        o[2][IEMOCAP_IDS[0]] = [9, 0, 0]
        o[4][BAD] = o[4][BAD][:-1]
    message = _broken(tmp_path, edit)
    assert message.startswith("IEMOCAP_features.pkl: 2 problems:")
    assert IEMOCAP_IDS[0] in message and BAD in message


def test_unknown_modality_letters(tmp_path):
    path = write_pickle(iemocap_tuple(), tmp_path / "f.pkl")
    with pytest.raises(DataFormatError, match=r"f.pkl: unknown modality letter\(s\) 'x'"):
        load(path, modalities="tx")
    with pytest.raises(DataFormatError, match="unknown modality 'x'"):
        ConversationDataset(features={"x": np.zeros((2, 3), np.float32)}, offsets=np.array([0, 2]),
                            dialogue_ids=np.array(["d0"]), splits=np.array(["train"]),
                            speakers=np.zeros(2, np.int64), labels=np.zeros(2, np.int64), label_names=("a",))


def test_truncated_pickle(tmp_path):
    path = write_pickle(iemocap_tuple(), tmp_path / "f.pkl")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataFormatError, match="f.pkl: truncated or corrupt pickle"):
        load(path)
    assert _no_cache_written(tmp_path)


def test_garbage_and_empty_files(tmp_path):
    (tmp_path / "g.pkl").write_bytes(b"this is not a pickle")
    with pytest.raises(DataFormatError, match="g.pkl: truncated or corrupt"):
        load(tmp_path / "g.pkl")
    (tmp_path / "e.pkl").write_bytes(b"")
    with pytest.raises(DataFormatError, match="e.pkl: the file is empty"):
        load(tmp_path / "e.pkl")


def test_unrecognised_layout(tmp_path):
    path = tmp_path / "odd.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(DataFormatError, match="odd.pkl: unrecognised layout"):
        load(path)


def test_corrupt_npz(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, x=np.zeros(3))
    with pytest.raises(DataFormatError, match="good.npz: not a dataset bundle: missing key"):
        load(good)
    with zipfile.ZipFile(tmp_path / "bad.npz", "w") as archive:
        archive.writestr("offsets.npy", b"garbage")
    data = (tmp_path / "bad.npz").read_bytes()
    (tmp_path / "bad.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="bad.npz"):
        load(tmp_path / "bad.npz")


def test_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match="nowhere.pkl: file not found"):
        load(tmp_path / "nowhere.pkl")


def test_unknown_format_name(tmp_path):
    path = write_pickle(iemocap_tuple(), tmp_path / "f.pkl")
    with pytest.raises(DataFormatError, match="unknown format 'mmgcn'; valid formats are mmgcn-iemocap"):
        load(path, "mmgcn")
