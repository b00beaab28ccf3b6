"""The ``.npz`` bundle: the flat column layout of a dataset as plain numpy arrays.

The shared ``*_text_minilm.npz`` files, the converted feature files
(``spcl-diag data convert``) and the load cache all use it. It is read with
``allow_pickle=False``: loading a bundle never unpickles anything.

======================  ==================  ==============================================
key                     shape / type        meaning
======================  ==================  ==============================================
``dialogue_id``         ``[D]`` str         dialogue ids, in dataset order
``split``               ``[D]`` str         ``train`` / ``dev`` / ``test``
``offsets``             ``[D+1]`` int       dialogue ``k`` owns rows ``offsets[k]:offsets[k+1]``
``speaker``             ``[U]`` int         speaker index of each utterance
``label``               ``[U]`` int         class of each utterance
``label_names``         ``[C]`` str         class names in label order
``text``, ``audio``,    ``[U, d_m]`` float  features of each present modality (float16 is
``visual``                                  widened to float32)
``n_speakers``          scalar int          optional: speaker slots (default max + 1)
``converted_from``      scalar str          optional: the format the bundle was made from
======================  ==================  ==============================================

Other keys (``sentence``, ``text_model``) are ignored.

Before any array is read, the shapes its members declare are checked against each other and
against the offsets (``[D]`` ids and splits, ``[D+1]`` offsets, ``[U]`` speakers and labels,
``[U, d]`` features with ``U = offsets[-1]``), against the bytes the archive holds, and
against :data:`MAX_INFLATION`: a member that would inflate from a small file into gigabytes
is refused before anything is allocated.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.errors import DataFormatError
from spcl_diag.modalities import MODALITIES, MODALITY_NAMES

REQUIRED = ("dialogue_id", "split", "offsets", "speaker", "label", "label_names")
MAX_INFLATION = 200  # uncompressed / compressed size of a member; float features compress about 1.1x
INFLATION_MIN_BYTES = 256 << 20  # members smaller than this (uncompressed) may compress any amount
MODALITY_KEYS: dict[str, str] = {MODALITY_NAMES[m]: m for m in MODALITIES}  # "text" -> "t"


def read_bundle(path: str | Path, *, name: str | None = None) -> ConversationDataset:
    """Read a bundle; the dataset's ``source_format`` is ``"npz"``.

    Parameters
    ----------
    path
        The ``.npz`` file.
    name
        Name used in messages and on the dataset (default: the file name).

    Raises
    ------
    DataFormatError
        A missing, truncated or corrupt file, missing keys, arrays that need pickle, or any
        problem found by :meth:`ConversationDataset.validate`.
    """
    path = Path(path)
    label = name or path.name
    if not path.is_file():
        raise DataFormatError(f"{label}: file not found ({path}).")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in REQUIRED if k not in archive.files]
            if missing:
                raise DataFormatError(
                    f"{label}: not a dataset bundle: missing key(s) {', '.join(missing)}; a bundle has "
                    f"{', '.join(REQUIRED)} and one or more of {', '.join(MODALITY_KEYS)}. Found keys "
                    f"{', '.join(archive.files)}."
                )
            wanted = [k for k in archive.files if k in REQUIRED or k in MODALITY_KEYS
                      or k in ("n_speakers", "converted_from")]
            _check_declared_shapes(archive, wanted, label)
            arrays = {k: archive[k] for k in wanted}
    except DataFormatError:
        raise
    except ValueError as err:  # object arrays need pickle, which is refused
        raise DataFormatError(f"{label}: an array needs pickle to load, which is refused ({err}).") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise DataFormatError(f"{label}: truncated or corrupt .npz file ({type(err).__name__}: {err}).") from None
    features = {MODALITY_KEYS[k]: arrays[k].astype(np.float32) for k in MODALITY_KEYS if k in arrays}
    return ConversationDataset(
        features=features,
        offsets=arrays["offsets"].astype(np.int64),
        dialogue_ids=arrays["dialogue_id"].astype(str),
        splits=arrays["split"].astype(str),
        speakers=arrays["speaker"].astype(np.int64),
        labels=arrays["label"].astype(np.int64),
        label_names=tuple(str(s) for s in arrays["label_names"]),
        name=label,
        source_format="npz",
        n_speakers=int(arrays["n_speakers"]) if "n_speakers" in arrays else 0,
    )


def _member_header(archive: np.lib.npyio.NpzFile, key: str) -> tuple[tuple[int, ...], np.dtype, int, int]:
    """Declared shape and dtype of member ``key``, and its stored and compressed sizes in bytes."""
    zipped = archive.zip
    assert zipped is not None  # np.load of an .npz keeps the archive open
    info = zipped.getinfo(f"{key}.npy")
    with zipped.open(info) as handle:
        version = np.lib.format.read_magic(handle)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _fortran, dtype = read(handle)
        header = handle.tell()
    return tuple(shape), dtype, info.file_size - header, info.compress_size


def _check_declared_shapes(archive: np.lib.npyio.NpzFile, keys: list[str], label: str) -> None:
    """Refuse members whose declared shapes disagree with the offsets or with the bytes stored.

    Only headers and the ``[D+1]`` offsets are read, so a member declaring a huge shape costs
    nothing. Raises :class:`DataFormatError` listing every problem.
    """
    headers = {k: _member_header(archive, k) for k in keys}
    problems = []
    for key, (shape, dtype, stored, compressed) in headers.items():
        declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if declared > stored:
            problems.append(f"field '{key}': declares shape {shape} ({_size(declared)}) but holds only {_size(stored)}")
        elif declared >= INFLATION_MIN_BYTES and declared > MAX_INFLATION * max(compressed, 1):
            problems.append(f"field '{key}': would inflate from {_size(compressed)} to {_size(declared)} "
                            f"(more than {MAX_INFLATION}x); refused as a decompression bomb")
    if not problems and {"dialogue_id", "offsets"} <= set(headers):
        n_dialogues = headers["dialogue_id"][0][:1]
        expected = {"dialogue_id": n_dialogues, "split": n_dialogues,
                    "offsets": (n_dialogues[0] + 1,) if n_dialogues else None}
        for key, want in expected.items():
            if key in headers and (len(headers[key][0]) != 1 or headers[key][0] != want):
                problems.append(f"field '{key}': expected shape {want} (one entry per dialogue), declared {headers[key][0]}")
        if not problems:
            offsets = archive["offsets"]
            n_utt = int(offsets[-1]) if len(offsets) else 0
            if len(offsets) and (offsets[0] != 0 or (np.diff(offsets) < 0).any()):
                problems.append("field 'offsets': expected increasing offsets starting at 0")
            for key in ("speaker", "label"):
                if key in headers and headers[key][0] != (n_utt,):
                    problems.append(f"field '{key}': expected shape ({n_utt},) (one per utterance, offsets[-1] = "
                                    f"{n_utt}), declared {headers[key][0]}")
            for key in MODALITY_KEYS:
                if key in headers and (len(headers[key][0]) != 2 or headers[key][0][0] != n_utt):
                    problems.append(f"field '{key}': expected shape ({n_utt}, d) (one row per utterance), declared "
                                    f"{headers[key][0]}")
    if problems:
        raise DataFormatError(f"{label}: " + ("; ".join(problems)) + "; nothing was loaded.")


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def bundle_origin(path: str | Path) -> str | None:
    """The ``converted_from`` entry of a bundle, or None (read without pickle)."""
    with np.load(path, allow_pickle=False) as archive:
        return str(archive["converted_from"]) if "converted_from" in archive.files else None


def write_bundle(dataset: ConversationDataset, path: str | Path) -> Path:
    """Write ``dataset`` as a bundle, atomically (a temporary file renamed into place).

    A crash or an error while writing leaves no partial file under ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "dialogue_id": dataset.dialogue_ids.astype(str),
        "split": dataset.splits.astype(str),
        "offsets": dataset.offsets.astype(np.int64),
        "speaker": dataset.speakers.astype(np.int32),
        "label": dataset.labels.astype(np.int32),
        "label_names": np.array(dataset.label_names, dtype=str),
        "n_speakers": np.array(dataset.n_speakers, dtype=np.int64),
        "converted_from": np.array(dataset.source_format),
    }
    for m in dataset.modalities:
        arrays[MODALITY_NAMES[m]] = dataset.features[m]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp.npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
