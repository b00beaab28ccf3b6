"""Synthetic feature files in the published layouts, at the published corpus sizes.

The public feature files (MMGCN, DialogueGCN, SPCL/Ada2I, COSMIC) cannot be shipped, but
their layout can: :func:`write_standard_file` writes a file of any pickle format in
:data:`~spcl_diag.data.loaders.FORMATS` with the structure and the counts of the real
corpus, filled with random features. The test suite and the speed benchmarks load these
files through :func:`~spcl_diag.data.load`, so a loader, a bound or a cache that fails on
the real files fails there too.

What is real and what is not:

* real: the number of dialogues and utterances per split (IEMOCAP 151 dialogues and
  7,433 utterances, 120 train+dev and 31 test, sessions 1-4 against session 5; MELD 1,432
  dialogues and 13,708 utterances, 1,038 train, 114 dev and 280 test, dialogue 60 of
  train absent as in every release), the longest dialogue (110 / 33 utterances), the
  field names, containers and their nesting, the speaker encodings (``'M'``/``'F'``
  strings in IEMOCAP, one-hot lists of 9 in the MELD tuple and COSMIC files, integers in
  the SPCL MELD dict), per-utterance lists of feature vectors in the tuple layouts, id
  sets in the SPCL dicts, and the pickle protocol (2 with Python 2 strings for the tuple
  files, which were written by Python 2; today's default for the SPCL and COSMIC files);
* made up: each dialogue's length (drawn to match the split totals), dialogue and
  utterance ids (in the corpus' pattern), labels, speakers, placeholder sentences and the
  features (standard normal float32, at the format's widths unless ``dims`` says
  otherwise). Nothing is derived from a transcript.

Examples
--------
>>> import tempfile
>>> from spcl_diag.data import load
>>> path = write_standard_file(tempfile.mkdtemp() + "/IEMOCAP_features.pkl", "mmgcn-iemocap",
...                            dims={"t": 4, "a": 4, "v": 4})
>>> data = load(path, cache=False)
>>> data.n_dialogues, int(data.lengths.sum()), data.source_format
(151, 7433, 'mmgcn-iemocap')
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spcl_diag.data.loaders import FORMATS

PICKLE_FORMATS = tuple(name for name in FORMATS if name != "npz")


@dataclass(frozen=True)
class CorpusSize:
    """Dialogues and utterances per split of a published corpus, and its dialogue lengths."""

    splits: Mapping[str, tuple[int, int]]  # split -> (dialogues, utterances)
    min_length: int
    max_length: int
    n_classes: int

    @property
    def dialogues(self) -> int:
        return sum(d for d, _ in self.splits.values())

    @property
    def utterances(self) -> int:
        return sum(u for _, u in self.splits.values())


# The COSMIC splits of the releases (train / valid / test); the tuple and SPCL layouts keep
# train and dev together in trainVid.
IEMOCAP_SIZE = CorpusSize({"train": (108, 5163), "dev": (12, 647), "test": (31, 1623)}, 8, 110, 6)
MELD_SIZE = CorpusSize({"train": (1038, 9989), "dev": (114, 1109), "test": (280, 2610)}, 1, 33, 7)


@dataclass(frozen=True)
class _Corpus:
    """The generated dialogues of one corpus, in split order."""

    ids: dict[str, list[Any]]  # split -> dialogue ids
    lengths: dict[Any, int]
    labels: dict[Any, list[int]]
    speakers: dict[Any, list[int]]  # speaker index per utterance (0/1 in IEMOCAP, 0..8 in MELD)

    def all_ids(self) -> list[Any]:
        return [d for ids in self.ids.values() for d in ids]


def write_standard_file(
    path: str | Path,
    format: str,
    *,
    dims: Mapping[str, int] | None = None,
    seed: int = 0,
) -> Path:
    """Write a synthetic feature file in ``format``'s layout at the real corpus size.

    Parameters
    ----------
    path
        The file to write (its folder must exist).
    format
        A pickle format of :data:`~spcl_diag.data.loaders.FORMATS` (``"mmgcn-iemocap"``,
        ``"dialoguegcn-iemocap"``, ``"mmgcn-meld"``, ``"spcl-iemocap"``, ``"spcl-meld"``,
        ``"cosmic-iemocap"``, ``"cosmic-meld"``).
    dims
        Feature width per modality; the format's own widths when omitted (small widths
        make fast tests: the layout and the counts stay real).
    seed
        Seeds the lengths, labels, speakers and features.

    Returns
    -------
    Path
        ``path``.
    """
    if format not in PICKLE_FORMATS:
        raise ValueError(f"unknown pickle format {format!r}; valid formats are {', '.join(PICKLE_FORMATS)}.")
    spec = FORMATS[format]
    widths = dict(dims or spec.dims or {})
    rng = np.random.default_rng(seed)
    meld = "meld" in spec.family
    corpus = _meld(rng) if meld else _iemocap(rng)
    if spec.family in ("iemocap-tuple", "meld-tuple"):
        obj: Any = _tuple_layout(corpus, widths, rng, meld=meld)
        _dump_python2(obj, Path(path))
        return Path(path)
    obj = _spcl_layout(corpus, widths, rng, meld=meld) if spec.family.startswith("spcl") else _cosmic_layout(corpus, meld=meld)
    with open(path, "wb") as handle:
        pickle.dump(obj, handle)
    return Path(path)


def _lengths(n: int, total: int, low: int, high: int, rng: np.random.Generator) -> list[int]:
    """``n`` dialogue lengths in ``[low, high]`` summing to ``total``, one of them ``high``."""
    raw = rng.uniform(0.5, 1.5, n)
    lengths = np.clip(np.round(raw / raw.sum() * total), low, high).astype(int)
    lengths[0] = high
    while (gap := total - int(lengths.sum())) != 0:
        step = 1 if gap > 0 else -1
        room = np.flatnonzero((lengths < high) if step > 0 else (lengths > low))
        room = room[room != 0]
        lengths[rng.choice(room, size=min(abs(gap), room.size), replace=False)] += step
    return lengths.tolist()


def _iemocap(rng: np.random.Generator) -> _Corpus:
    size = IEMOCAP_SIZE
    names = [f"Ses0{s}{g}_{kind}{k:02d}" for s in range(1, 6) for g in "FM" for kind in ("impro", "script")
             for k in range(1, 16)]
    session5 = [name for name in names if name.startswith("Ses05")]
    earlier = [name for name in names if not name.startswith("Ses05")]
    ids = {"train": earlier[:108], "dev": earlier[108:120], "test": session5[:31]}
    return _fill(ids, size, rng, speakers=lambda n: rng.integers(0, 2, n).tolist())


def _meld(rng: np.random.Generator) -> _Corpus:
    ids = {"train": [d for d in range(1039) if d != 60], "dev": list(range(1039, 1153)), "test": list(range(1153, 1433))}
    return _fill(ids, MELD_SIZE, rng, speakers=lambda n: rng.integers(0, 9, n).tolist())


def _fill(ids: dict[str, list[Any]], size: CorpusSize, rng: np.random.Generator, *, speakers: Any) -> _Corpus:
    lengths: dict[Any, int] = {}
    for split, (n_dialogues, n_utterances) in size.splits.items():
        assert len(ids[split]) == n_dialogues
        lengths.update(zip(ids[split], _lengths(n_dialogues, n_utterances, size.min_length, size.max_length, rng)))
    labels = {d: rng.integers(0, size.n_classes, n).tolist() for d, n in lengths.items()}
    return _Corpus(ids, lengths, labels, {d: speakers(n) for d, n in lengths.items()})


def _rows(n: int, width: int, rng: np.random.Generator) -> NDArray[np.float32]:
    return rng.standard_normal((n, width), dtype=np.float32)


def _speaker_field(corpus: _Corpus, *, meld: bool, one_hot: bool) -> dict[Any, list[Any]]:
    if not meld:
        return {d: ["MF"[s] for s in turns] for d, turns in corpus.speakers.items()}
    if one_hot:
        return {d: [[int(k == s) for k in range(9)] for s in turns] for d, turns in corpus.speakers.items()}
    return dict(corpus.speakers)


def _utterance_ids(corpus: _Corpus, *, meld: bool) -> dict[Any, list[Any]]:
    if meld:
        return {d: list(range(n)) for d, n in corpus.lengths.items()}
    return {d: [f"{d}_{'MF'[s]}{j:03d}" for j, s in enumerate(corpus.speakers[d])] for d in corpus.lengths}


def _sentences(corpus: _Corpus) -> dict[Any, list[str]]:
    return {d: [f"utterance {j}" for j in range(n)] for d, n in corpus.lengths.items()}


def _tuple_layout(corpus: _Corpus, widths: Mapping[str, int], rng: np.random.Generator, *, meld: bool) -> tuple[Any, ...]:
    """MMGCN / DialogueGCN: per-dialogue dicts with a list of feature vectors per utterance."""
    everyone = corpus.all_ids()
    features = [{d: list(_rows(corpus.lengths[d], widths[m], rng)) for d in everyone} for m in "tav"]
    fields: list[Any] = [
        _utterance_ids(corpus, meld=meld),
        _speaker_field(corpus, meld=meld, one_hot=True),
        corpus.labels,
        *features,
        _sentences(corpus),
        corpus.ids["train"] + corpus.ids["dev"],
        list(corpus.ids["test"]),
    ]
    if meld:  # the per-dialogue sentiment labels (3 classes)
        fields.append({d: rng.integers(0, 3, n).tolist() for d, n in corpus.lengths.items()})
    return tuple(fields)


def _spcl_layout(corpus: _Corpus, widths: Mapping[str, int], rng: np.random.Generator, *, meld: bool) -> dict[str, Any]:
    """SPCL / Ada2I ``data/<ds>/<ds>.pkl``: id sets and per-dialogue ``[n_utt, d]`` arrays."""
    everyone = corpus.all_ids()
    obj: dict[str, Any] = {
        "trainVid": set(corpus.ids["train"] + corpus.ids["dev"]),
        "testVid": set(corpus.ids["test"]),
        "speakers" if meld else "speaker": _speaker_field(corpus, meld=meld, one_hot=False),
        "label": corpus.labels,
        "sentence": _sentences(corpus),
    }
    for m, key in zip("tav", ("text", "audio", "visual")):
        obj[key] = {d: _rows(corpus.lengths[d], widths[m], rng) for d in everyone}
    return obj


def _cosmic_layout(corpus: _Corpus, *, meld: bool) -> list[Any]:
    """COSMIC metadata: a list of per-dialogue dicts and the three id lists (labels, no features)."""
    middle: list[Any] = [corpus.labels]
    if meld:
        middle.append({d: [0] * n for d, n in corpus.lengths.items()})  # sentiment
    middle.append(_sentences(corpus))
    return [_speaker_field(corpus, meld=meld, one_hot=True), *middle,
            list(corpus.ids["train"]), list(corpus.ids["test"]), list(corpus.ids["dev"])]


class _Python2Pickler(pickle._Pickler):  # type: ignore[misc, name-defined]
    """Protocol 2 as Python 2 wrote it: ``str`` and ``bytes`` as BINSTRING, ``__builtin__`` and
    ``numpy.core`` globals (the tuple feature files were written this way)."""

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def save_python2_string(self, obj: str | bytes) -> None:
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)  # type: ignore[attr-defined]
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)  # type: ignore[attr-defined]
        self.memoize(obj)  # type: ignore[attr-defined]

    dispatch[str] = save_python2_string  # type: ignore[assignment]
    dispatch[bytes] = save_python2_string  # type: ignore[assignment]

    def save_global(self, obj: Any, name: str | None = None) -> None:
        name = name or obj.__qualname__
        module = pickle.whichmodule(obj, name)  # type: ignore[attr-defined]
        module = {"builtins": "__builtin__"}.get(module, module.replace("numpy._core", "numpy.core"))
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii"))  # type: ignore[attr-defined]
        self.memoize(obj)  # type: ignore[attr-defined]


def _dump_python2(obj: Any, path: Path) -> None:
    with open(path, "wb") as handle:
        _Python2Pickler(handle, protocol=2).dump(obj)


__all__ = ["IEMOCAP_SIZE", "MELD_SIZE", "PICKLE_FORMATS", "CorpusSize", "write_standard_file"]
