"""Hostile and broken inputs: bombs are refused before allocating, every problem is listed."""

from __future__ import annotations

import tracemalloc
import zipfile

import numpy as np
import pytest

from spcl_diag.data import load, safe_pickle
from spcl_diag.data.loaders import bundle
from spcl_diag.data.safe_pickle import safe_unpickle
from spcl_diag.errors import DataFormatError

from .helpers import IEMOCAP_IDS, iemocap_tuple, meld_tuple, write_pickle

BAD = IEMOCAP_IDS[1]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPCL_DIAG_CACHE", str(tmp_path / "cache"))


def _bundle_arrays(n_dialogues: int = 3, length: int = 4, width: int = 8) -> dict[str, np.ndarray]:
    n = n_dialogues * length
    return {
        "dialogue_id": np.array([f"d{k}" for k in range(n_dialogues)]),
        "split": np.array(["train", "dev", "test"][:n_dialogues]),
        "offsets": np.arange(0, n + 1, length, dtype=np.int64),
        "speaker": np.zeros(n, np.int64),
        "label": np.zeros(n, np.int64),
        "label_names": np.array(["a", "b"]),
        "text": np.ones((n, width), np.float32),
    }


def _rewrite_header(path, member: str, shape: tuple[int, ...]) -> None:
    """Rewrite ``member``'s .npy header to declare ``shape`` and keep its (small) data."""
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    raw = members[f"{member}.npy"]
    header_len = int.from_bytes(raw[8:10], "little")
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape!r}, }}".encode()
    header = header + b" " * (header_len - 1 - len(header)) + b"\n"
    members[f"{member}.npy"] = raw[:10] + header + raw[10 + header_len:]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_npz_member_declaring_a_huge_shape_is_refused_before_allocating(tmp_path):
    path = tmp_path / "bomb.npz"
    np.savez(path, **_bundle_arrays())
    _rewrite_header(path, "text", (12, 1 << 30))  # 48 GiB declared, a few hundred bytes stored
    tracemalloc.start()
    try:
        with pytest.raises(DataFormatError, match=r"bomb.npz: field 'text': declares shape \(12, 1073741824\) \(48.0 GiB\)"):
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MiB allocated before the refusal"  # not the declared 48 GiB


def test_npz_shapes_are_checked_against_the_offsets(tmp_path):
    arrays = _bundle_arrays()
    arrays["label"] = np.zeros(11, np.int64)  # one short of offsets[-1] = 12
    path = tmp_path / "short.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataFormatError, match=r"field 'label': expected shape \(12,\)"):
        load(path)


def test_npz_decompression_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle, "INFLATION_MIN_BYTES", 1 << 20)  # scaled down: a 4 MiB member of zeros
    arrays = _bundle_arrays(n_dialogues=3, length=4096, width=128)
    arrays["text"] = np.zeros_like(arrays["text"])
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, **arrays)
    with pytest.raises(DataFormatError, match="decompression bomb"):
        load(path)


def test_deeply_nested_pickle_is_refused_before_loading(monkeypatch):
    depth = 2_000_000  # a 4 MB pickle of lists inside lists
    raw = b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."
    monkeypatch.setattr(safe_pickle, "_RestrictedUnpickler", None)  # nothing may be unpickled
    with pytest.raises(DataFormatError, match="nested more than 32 deep"):
        safe_unpickle(raw)


def test_nesting_built_bottom_up_is_refused_after_loading():
    raw = b"\x80\x02K\x01" + b"\x85" * 10_000 + b"."  # (((1,),),) ... by TUPLE1
    with pytest.raises(DataFormatError, match="nested more than 32 deep"):
        safe_unpickle(raw)


def test_a_label_error_does_not_hide_a_length_error(tmp_path):
    obj = iemocap_tuple()
    obj[2][BAD] = [9] + obj[2][BAD][1:]  # label out of range
    obj[4][BAD] = obj[4][BAD][:-1]  # and audio one utterance short
    path = write_pickle(obj, tmp_path / "IEMOCAP_features.pkl")
    with pytest.raises(DataFormatError) as info:
        load(path)
    message = str(info.value)
    assert f"dialogue {BAD}, field 'labels': expected classes in 0..5" in message
    assert f"dialogue {BAD}, field 'audio': expected 4 utterances" in message


def test_a_short_labels_list_is_blamed_on_labels(tmp_path):
    obj = iemocap_tuple()
    obj[2][BAD] = obj[2][BAD][:-1]
    path = write_pickle(obj, tmp_path / "IEMOCAP_features.pkl")
    with pytest.raises(DataFormatError) as info:
        load(path)
    message = str(info.value)
    assert message == (f"IEMOCAP_features.pkl, dialogue {BAD}, field 'labels': expected 4 utterances "
                       "(as in speakers, text, audio, visual), found 3.")


def test_dataset_family_comes_from_the_content_not_the_path(tmp_path):
    from spcl_diag import RunConfig

    folder = tmp_path / "iemocap_experiments"
    folder.mkdir()
    meld = write_pickle(meld_tuple(), folder / "features.pkl")
    config = RunConfig(dataset=str(meld), backbone="mmgcn", modalities="tav").resolved()
    assert (config.pacing.lambda0, config.pacing.growth) == (0.4, 1.25)  # MELD's preset; IEMOCAP's is 1.1
    iemocap = write_pickle(iemocap_tuple(), tmp_path / "meld_stuff.pkl")
    config = RunConfig(dataset=str(iemocap), backbone="mmgcn", modalities="tav").resolved()
    assert config.pacing.growth == 1.1
