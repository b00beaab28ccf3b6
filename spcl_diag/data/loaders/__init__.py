"""Loaders of the standard MERC feature files: :func:`load` detects the format or takes it by name.

=========================  ===========================================  ==================
format                     layout                                       dims t / a / v
=========================  ===========================================  ==================
``mmgcn-iemocap``          MMGCN / MM-DFN ``IEMOCAP_features.pkl``,      100 / 1582 / 342
                           9-tuple (:mod:`.tuples`)
``dialoguegcn-iemocap``    DialogueGCN / COGMEN / CORECT, same 9-tuple   100 / 100 / 512
``mmgcn-meld``             MMGCN ``MELD_features_raw1.pkl``, 10-tuple,   600 / 300 / 342
                           one-hot speakers
``spcl-iemocap``           SPCL / Ada2I dict, speakers ``'M'``/``'F'``    768 / 512 / 1024
                           (:mod:`.dicts`)
``spcl-meld``              SPCL / Ada2I dict, integer speakers           768 / 300 / 342
``cosmic-iemocap``         COSMIC metadata, list of 6 (:mod:`.cosmic`)   labels only
``cosmic-meld``            COSMIC metadata, list of 7                    labels only
``npz``                    flat bundle (:mod:`.bundle`)                  any
=========================  ===========================================  ==================

Pickles are read with :func:`~spcl_diag.data.safe_pickle.safe_unpickle` and converted
once into a cached ``.npz`` (:mod:`spcl_diag.data.cache`). A format named explicitly must
match its table dimensions; a detected tuple or dict format is the one whose dimensions
match the file, or the first of its family when none does (then only consistency across
dialogues is required).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spcl_diag.data.cache import cached
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.data.loaders.bundle import read_bundle, write_bundle
from spcl_diag.data.loaders.common import Problems
from spcl_diag.data.loaders.cosmic import read_cosmic
from spcl_diag.data.loaders.dicts import read_dict
from spcl_diag.data.loaders.tuples import first_dims, read_tuple
from spcl_diag.data.safe_pickle import safe_unpickle
from spcl_diag.data.splits import choose_dev
from spcl_diag.errors import DataFormatError
from spcl_diag.modalities import MODALITIES

Reader = Callable[[Any, Problems, "FeatureFormat", bool], ConversationDataset]


@dataclass(frozen=True)
class FeatureFormat:
    """One supported file layout."""

    name: str
    family: str  # "iemocap-tuple", "meld-tuple", "spcl-iemocap", "spcl-meld", "cosmic-iemocap", ...
    description: str
    dims: Mapping[str, int] | None  # feature width per modality; None: no features / any


def _tuple(obj: Any, problems: Problems, fmt: FeatureFormat, strict: bool) -> ConversationDataset:
    return read_tuple(obj, problems=problems, source_format=fmt.name, meld=fmt.family == "meld-tuple",
                      expected_dims=fmt.dims if strict else None)


def _dict(obj: Any, problems: Problems, fmt: FeatureFormat, strict: bool) -> ConversationDataset:
    return read_dict(obj, problems=problems, source_format=fmt.name, meld=fmt.family == "spcl-meld",
                     expected_dims=fmt.dims if strict else None)


def _cosmic(obj: Any, problems: Problems, fmt: FeatureFormat, strict: bool) -> ConversationDataset:
    return read_cosmic(obj, problems=problems, source_format=fmt.name, meld=fmt.family == "cosmic-meld")


FORMATS: dict[str, FeatureFormat] = {f.name: f for f in (
    FeatureFormat("mmgcn-iemocap", "iemocap-tuple", "MMGCN / MM-DFN IEMOCAP 9-tuple", {"t": 100, "a": 1582, "v": 342}),
    FeatureFormat("dialoguegcn-iemocap", "iemocap-tuple", "DialogueGCN / COGMEN / CORECT IEMOCAP 9-tuple",
                  {"t": 100, "a": 100, "v": 512}),
    FeatureFormat("mmgcn-meld", "meld-tuple", "MMGCN MELD 10-tuple, one-hot speakers", {"t": 600, "a": 300, "v": 342}),
    FeatureFormat("spcl-iemocap", "spcl-iemocap", "SPCL / Ada2I IEMOCAP dict", {"t": 768, "a": 512, "v": 1024}),
    FeatureFormat("spcl-meld", "spcl-meld", "SPCL / Ada2I MELD dict", {"t": 768, "a": 300, "v": 342}),
    FeatureFormat("cosmic-iemocap", "cosmic-iemocap", "COSMIC IEMOCAP metadata (labels only)", None),
    FeatureFormat("cosmic-meld", "cosmic-meld", "COSMIC MELD metadata (labels only)", None),
    FeatureFormat("npz", "npz", "flat .npz bundle (shared data, converted files)", None),
)}
_READERS: dict[str, Reader] = {
    "iemocap-tuple": _tuple, "meld-tuple": _tuple, "spcl-iemocap": _dict, "spcl-meld": _dict,
    "cosmic-iemocap": _cosmic, "cosmic-meld": _cosmic,
}


def detect_family(obj: Any) -> str | None:
    """The format family of an unpickled object from its structure, or None."""
    if isinstance(obj, Mapping) and "trainVid" in obj:
        return "spcl-meld" if "speakers" in obj else "spcl-iemocap"
    if isinstance(obj, (tuple, list)) and obj and isinstance(obj[0], Mapping):
        return {9: "iemocap-tuple", 10: "meld-tuple", 6: "cosmic-iemocap", 7: "cosmic-meld"}.get(len(obj))
    return None


def _file_dims(obj: Any, family: str) -> dict[str, int]:
    if family in ("iemocap-tuple", "meld-tuple"):
        return first_dims(obj)
    dims = {}
    for m, key in zip("tav", ("text", "audio", "visual")):
        rows: Any = next(iter(obj.get(key, {}).values()), [])
        dims[m] = len(rows[0]) if len(rows) and hasattr(rows[0], "__len__") else 0
    return dims


def _parse_pickle(path: Path, format: str | None) -> ConversationDataset:
    obj = safe_unpickle(path)
    problems = Problems(path.name)
    if format is not None:
        return _READERS[FORMATS[format].family](obj, problems, FORMATS[format], True)
    family = detect_family(obj)
    if family is None:
        found = f"a {type(obj).__name__}" + (f" of {len(obj)} items" if hasattr(obj, "__len__") else "")
        raise DataFormatError(
            f"{path.name}: unrecognised layout ({found}); expected one of: "
            + "; ".join(f"{f.name} ({f.description})" for f in FORMATS.values() if f.name != "npz") + "."
        )
    members = [f for f in FORMATS.values() if f.family == family]
    chosen = members[0]
    if members[0].dims is not None:
        dims = _file_dims(obj, family)
        chosen = next((f for f in members if dict(f.dims or {}) == dims), members[0])
    return _READERS[family](obj, problems, chosen, False)


def is_npz(path: Path) -> bool:
    """True for a zip archive (what ``numpy.savez`` writes)."""
    with open(path, "rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def read_file(path: str | Path, format: str | None = None, *, cache: bool = True) -> ConversationDataset:
    """The dataset stored in ``path`` with the file's own splits (no dev set chosen).

    See :func:`load`; this is the same without the dev split and modality selection.
    """
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise DataFormatError(f"{path.name}: unknown format {format!r}; valid formats are {', '.join(FORMATS)}.")
    if not path.is_file():
        raise DataFormatError(f"{path.name}: file not found ({path}).")
    if is_npz(path):
        if format not in (None, "npz"):
            raise DataFormatError(f"{path.name}: format {format!r} was asked for, but the file is an .npz bundle.")
        return read_bundle(path)
    if format == "npz":
        raise DataFormatError(f"{path.name}: format 'npz' was asked for, but the file is not an .npz (zip) archive.")
    if not cache:
        return _parse_pickle(path, format)
    return cached(path, format or "auto", lambda: _parse_pickle(path, format))


def load(
    path: str | Path,
    format: str | None = None,
    *,
    modalities: str | None = None,
    dev_fraction: float = 0.1,
    rng: np.random.Generator | None = None,
    cache: bool = True,
) -> ConversationDataset:
    """Load a MERC feature file safely, with validation and a dev split.

    Parameters
    ----------
    path
        A feature file in one of the :data:`FORMATS`.
    format
        A key of :data:`FORMATS`; detected from the file when omitted. The result's
        ``source_format`` says which format was read.
    modalities
        Keep only these modalities (e.g. ``"ta"``); all present when omitted.
    dev_fraction
        Share of the training dialogues moved to dev when the file has no dev set.
    rng
        Draw those dev dialogues with this generator; without it the first
        ``dev_fraction`` of the training dialogues are taken (seed-independent, the
        reference behaviour). See :mod:`spcl_diag.data.splits`.
    cache
        Read pickles through the ``.npz`` conversion cache (:mod:`spcl_diag.data.cache`).

    Returns
    -------
    ConversationDataset
        Named after the file; ``summary()["dev_dialogues"]`` lists the dev set.

    Raises
    ------
    DataFormatError
        A missing, truncated or corrupt file, a pickle that is not plain data, or a file
        that fails validation; the message lists every problem with file, dialogue and
        field.

    Examples
    --------
    >>> import pickle, tempfile, numpy as np
    >>> n = {"Ses01F_a": 2, "Ses01F_b": 3, "Ses01M_a": 2, "Ses05F_a": 4}  # utterances
    >>> per = lambda f: {d: f(k) for d, k in n.items()}
    >>> obj = (per(lambda k: list(range(k))), per(lambda k: ["M"] * k), per(lambda k: [2] * k),
    ...        per(lambda k: np.ones((k, 100))), per(lambda k: np.ones((k, 100))),
    ...        per(lambda k: np.ones((k, 512))), per(lambda k: ["..."] * k),
    ...        list(n)[:3], list(n)[3:])
    >>> path = tempfile.mkdtemp() + "/IEMOCAP_features.pkl"
    >>> with open(path, "wb") as f:
    ...     pickle.dump(obj, f, protocol=2)
    >>> data = load(path, cache=False)
    >>> data.source_format, data.dims, data.summary()["dev_dialogues"]
    ('dialoguegcn-iemocap', {'t': 100, 'a': 100, 'v': 512}, ['Ses01F_a'])
    """
    dataset = read_file(path, format, cache=cache)
    if modalities is not None:
        unknown = sorted(set(modalities) - set(MODALITIES))
        if unknown:
            raise DataFormatError(
                f"{Path(path).name}: unknown modality letter(s) {', '.join(map(repr, unknown))} in "
                f"{modalities!r}; valid letters are {', '.join(MODALITIES)}."
            )
        dataset = dataset.select_modalities(modalities)
    return choose_dev(dataset, fraction=dev_fraction, rng=rng)


__all__ = ["FORMATS", "FeatureFormat", "detect_family", "load", "read_file", "write_bundle"]
