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
            arrays = {k: archive[k] for k in archive.files if k in REQUIRED or k in MODALITY_KEYS
                      or k in ("n_speakers", "converted_from")}
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
