"""Conversations in memory: the one dataset type every loader and benchmark produces.

A :class:`ConversationDataset` stores the utterances of all dialogues in flat, column-wise
arrays (``[U, d_m]`` features per modality, ``[U]`` speakers and labels) plus ``offsets``:
dialogue ``k`` owns rows ``offsets[k]:offsets[k + 1]``. This is the layout of the shared
``.npz`` bundles and of the cached conversions, and it makes batching a matter of indexing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spcl_diag.errors import DataFormatError
from spcl_diag.modalities import MODALITIES, parse_modalities

Split = Literal["train", "dev", "test"]
SPLITS: tuple[Split, ...] = ("train", "dev", "test")


@dataclass(frozen=True)
class Conversation:
    """One dialogue: a view into a :class:`ConversationDataset`."""

    dialogue_id: str
    split: str
    features: dict[str, NDArray[np.float32]]  # m -> [n_utt, d_m]
    speakers: NDArray[np.int64]  # [n_utt]
    labels: NDArray[np.int64]  # [n_utt]

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True, eq=False)
class ConversationDataset:
    """A set of dialogues with per-modality utterance features, speakers, labels and splits.

    Parameters
    ----------
    features
        Modality letter -> float32 array ``[U, d_m]`` over all utterances, dialogue-major.
    offsets
        int64 ``[D + 1]``; dialogue ``k`` owns utterance rows ``offsets[k]:offsets[k + 1]``.
    dialogue_ids
        ``[D]`` dialogue identifiers (strings).
    splits
        ``[D]`` split of each dialogue: ``"train"``, ``"dev"`` or ``"test"``.
    speakers
        int64 ``[U]`` speaker index of each utterance, ``0 <= s < n_speakers``.
    labels
        int64 ``[U]`` emotion class of each utterance, ``0 <= y < len(label_names)``.
    label_names
        Class names in label order.
    name
        Short name used in messages (a benchmark name or a file name).
    source_format
        The format the data was read from (``"synthetic"``, ``"npz"``, ...).
    n_speakers
        Number of speaker indices (default: ``max(speakers) + 1``).
    dev_origin
        How the dev dialogues were chosen: ``"file"`` (they came with the data),
        ``"fixed"`` (the first share of the training dialogues) or ``"seeded"`` (drawn
        with a seeded generator); see :mod:`spcl_diag.data.splits`.

    Notes
    -----
    A dataset may have no modality features at all (COSMIC metadata: structure and
    labels only); :meth:`select_modalities` then refuses any modality set.
    """

    features: dict[str, NDArray[np.float32]]
    offsets: NDArray[np.int64]
    dialogue_ids: NDArray[np.str_]
    splits: NDArray[np.str_]
    speakers: NDArray[np.int64]
    labels: NDArray[np.int64]
    label_names: tuple[str, ...]
    name: str = "dataset"
    source_format: str = "memory"
    n_speakers: int = field(default=0)
    dev_origin: str = "file"

    def __post_init__(self) -> None:
        if self.n_speakers == 0 and len(self.speakers):
            object.__setattr__(self, "n_speakers", int(self.speakers.max()) + 1)
        self.validate()

    @classmethod
    def from_arrays(
        cls,
        features: Mapping[str, ArrayLike],
        *,
        labels: ArrayLike,
        speakers: ArrayLike,
        dialogue_ids: ArrayLike,
        splits: ArrayLike | Mapping[str, str],
        label_names: Sequence[str] | None = None,
        name: str = "memory",
    ) -> ConversationDataset:
        """A dataset from per-utterance arrays in memory, with the validation of a file.

        Parameters
        ----------
        features
            Modality letter -> ``[U, d_m]`` features of every utterance (cast to float32).
        labels
            ``[U]`` class index of every utterance, ``0..len(label_names)-1``.
        speakers
            ``[U]`` speaker of every utterance: indices, or any labels (``"M"``/``"F"``),
            which are numbered in sorted order.
        dialogue_ids
            ``[U]`` dialogue of every utterance. A dialogue's utterances keep their order;
            dialogues are ordered by first appearance.
        splits
            ``[U]`` split (``train``/``dev``/``test``) of every utterance, the same within a
            dialogue, or a mapping dialogue id -> split. Without dev dialogues a run takes
            them from train as it does for files (``data.dev_split``, ``data.dev_fraction``).
        label_names
            Class names in label order (default ``"0"``, ``"1"``, ...).
        name
            Name used in messages and in the run's ``dataset`` setting.

        Raises
        ------
        DataFormatError
            Listing every problem, naming the dialogue and the field, as for files.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> data = ConversationDataset.from_arrays(
        ...     {"t": rng.normal(size=(5, 4)), "a": rng.normal(size=(5, 2))},
        ...     labels=[0, 1, 1, 0, 1], speakers=["A", "B", "A", "A", "B"],
        ...     dialogue_ids=["d1", "d1", "d1", "d2", "d2"], splits={"d1": "train", "d2": "test"})
        >>> data.n_dialogues, data.dims, data.lengths.tolist()
        (2, {'t': 4, 'a': 2}, [3, 2])
        """
        dialogue = np.asarray(dialogue_ids).astype(str)
        n_utt = len(dialogue)
        problems: list[str] = []
        per_utt = {"labels": np.asarray(labels), "speakers": np.asarray(speakers)}
        if not isinstance(splits, Mapping):
            per_utt["splits"] = np.asarray(splits).astype(str)
        arrays: dict[str, np.ndarray] = {}
        for m, x in features.items():
            try:
                arrays[m] = np.asarray(x, dtype=np.float32)
            except (TypeError, ValueError) as err:
                problems.append(f"field {m!r}: expected numeric features, found {type(x).__name__} ({err})")
        counts = {**{k: v.shape[0] if v.ndim else 0 for k, v in per_utt.items()},
                  **{m: x.shape[0] if x.ndim == 2 else -1 for m, x in arrays.items()}}
        for field_name, count in counts.items():
            if count == -1:
                problems.append(f"field {field_name!r}: expected an array [U, d], found shape {arrays[field_name].shape}")
            elif count != n_utt:
                problems.append(f"field {field_name!r}: expected {n_utt} entries (one per utterance, as dialogue_ids), "
                                f"found {count}")
        if problems:
            raise DataFormatError(f"{name}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
        ids, first = np.unique(dialogue, return_index=True)
        ids = ids[np.argsort(first)]  # dialogues in order of first appearance
        position = {d: k for k, d in enumerate(ids)}
        of_utterance = np.array([position[d] for d in dialogue], dtype=np.int64)
        order = np.argsort(of_utterance, kind="stable")
        lengths = np.bincount(of_utterance, minlength=len(ids)).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        if isinstance(splits, Mapping):
            absent = [d for d in ids if d not in splits]
            if absent:
                raise DataFormatError(f"{name}: field 'splits': no split for dialogue(s) {', '.join(absent[:5])}.")
            dialogue_splits = np.array([str(splits[d]) for d in ids], dtype=str)
        else:
            by_row = per_utt["splits"][order]
            dialogue_splits = by_row[offsets[:-1]] if len(ids) else np.zeros(0, str)
            mixed = [ids[k] for k in range(len(ids)) if len(set(by_row[offsets[k]:offsets[k + 1]])) > 1]
            if mixed:
                raise DataFormatError(
                    f"{name}: dialogue {', '.join(mixed[:5])}, field 'splits': expected one split per dialogue, "
                    "found several."
                )
        raw_speakers = per_utt["speakers"]
        if np.issubdtype(raw_speakers.dtype, np.integer):
            speaker_index = raw_speakers.astype(np.int64)
        else:
            speaker_index = np.unique(raw_speakers.astype(str), return_inverse=True)[1].astype(np.int64)
        raw_labels = per_utt["labels"]
        if not np.issubdtype(raw_labels.dtype, np.integer):
            raise DataFormatError(f"{name}: field 'labels': expected integer class indices, found {raw_labels.dtype}.")
        label_ids = raw_labels.astype(np.int64)
        if label_names is None:
            label_names = [str(c) for c in range(int(label_ids.max()) + 1 if n_utt else 0)]
        return cls(
            features={m: np.ascontiguousarray(x[order]) for m, x in arrays.items()},
            offsets=offsets,
            dialogue_ids=ids.astype(str),
            splits=dialogue_splits,
            speakers=speaker_index[order],
            labels=label_ids[order],
            label_names=tuple(label_names),
            name=name,
            source_format="memory",
        )

    # ------------------------------------------------------------------ shape
    @property
    def modalities(self) -> str:
        """The modalities present, in canonical order (e.g. ``"tav"``)."""
        return "".join(m for m in MODALITIES if m in self.features)

    @property
    def dims(self) -> dict[str, int]:
        """Feature width of each modality."""
        return {m: int(self.features[m].shape[1]) for m in self.modalities}

    @property
    def n_classes(self) -> int:
        return len(self.label_names)

    @property
    def n_dialogues(self) -> int:
        return len(self.dialogue_ids)

    @property
    def n_utterances(self) -> int:
        return int(self.offsets[-1])

    @property
    def lengths(self) -> NDArray[np.int64]:
        """Utterances per dialogue, ``[D]``."""
        return np.diff(self.offsets)

    def dialogue_indices(self, split: str) -> NDArray[np.int64]:
        """Indices of the dialogues of ``split``, in dataset order."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}.")
        return np.flatnonzero(self.splits == split).astype(np.int64)

    def utterance_rows(self, dialogues: NDArray[np.int64]) -> NDArray[np.int64]:
        """Flat utterance rows of the given dialogues, concatenated in the given order."""
        starts, ends = self.offsets[dialogues], self.offsets[dialogues + 1]
        lengths = ends - starts
        # row r of dialogue k is starts[k] + (r - first position of k in the output)
        within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return np.repeat(starts, lengths) + within

    def conversation(self, index: int) -> Conversation:
        """The dialogue at ``index`` as a :class:`Conversation` of array views."""
        lo, hi = int(self.offsets[index]), int(self.offsets[index + 1])
        return Conversation(
            dialogue_id=str(self.dialogue_ids[index]),
            split=str(self.splits[index]),
            features={m: x[lo:hi] for m, x in self.features.items()},
            speakers=self.speakers[lo:hi],
            labels=self.labels[lo:hi],
        )

    def __len__(self) -> int:
        return self.n_dialogues

    # ------------------------------------------------------------- derived sets
    def select_modalities(self, modalities: str) -> ConversationDataset:
        """The same dialogues restricted to ``modalities`` (a subset of those present)."""
        wanted = parse_modalities(modalities)
        missing = [m for m in wanted if m not in self.features]
        if missing and not self.features:
            raise DataFormatError(
                f"{self.name}: the file holds labels and dialogue structure only, no modality features "
                f"({self.source_format}); inspect it with 'spcl-diag data inspect', train on a feature file."
            )
        if missing:
            raise DataFormatError(
                f"{self.name}: modality {', '.join(missing)} requested but the dataset only has "
                f"{self.modalities!r}."
            )
        return replace(self, features={m: self.features[m] for m in wanted})

    def with_splits(self, splits: NDArray[np.str_]) -> ConversationDataset:
        """The same dialogues with a new split assignment."""
        return replace(self, splits=np.asarray(splits, dtype=str))

    def fingerprint(self) -> str:
        """A short content hash of everything that affects training (16 hex digits)."""
        h = hashlib.sha256()
        for m in self.modalities:
            h.update(m.encode())
            h.update(np.ascontiguousarray(self.features[m]).tobytes())
        for arr in (self.offsets, self.speakers, self.labels):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update("\0".join(map(str, self.dialogue_ids)).encode())
        h.update("\0".join(map(str, self.splits)).encode())
        h.update("\0".join(self.label_names).encode())
        return h.hexdigest()[:16]

    def summary(self) -> dict[str, object]:
        """Counts per split, dimensions and label histogram, for reports and ``data inspect``."""
        per_split = {}
        for split in SPLITS:
            dialogues = self.dialogue_indices(split)
            per_split[split] = {
                "dialogues": len(dialogues),
                "utterances": int(self.lengths[dialogues].sum()),
            }
        histogram = np.bincount(self.labels, minlength=self.n_classes)
        return {
            "name": self.name,
            "format": self.source_format,
            "modalities": self.modalities,
            "dims": self.dims,
            "splits": per_split,
            "labels": {name: int(n) for name, n in zip(self.label_names, histogram)},
            "label_names": list(self.label_names),  # by class index (the histogram's keys get sorted in JSON)
            "n_speakers": self.n_speakers,
            "max_dialogue_length": int(self.lengths.max()) if self.n_dialogues else 0,
            "dev_origin": self.dev_origin,
            "dev_dialogues": [str(d) for d in self.dialogue_ids[self.dialogue_indices("dev")]],
        }

    # --------------------------------------------------------------- validation
    def validate(self) -> None:
        """Check the invariants; raise one :class:`DataFormatError` listing every problem."""
        problems: list[str] = []
        offsets = np.asarray(self.offsets)
        n_dialogues = len(self.dialogue_ids)
        if offsets.ndim != 1 or len(offsets) != n_dialogues + 1 or (len(offsets) and offsets[0] != 0):
            raise DataFormatError(
                f"{self.name}: field 'offsets': expected {n_dialogues + 1} increasing offsets "
                f"starting at 0 for {n_dialogues} dialogues, found shape {offsets.shape}."
            )
        n_utt = int(offsets[-1])
        lengths = np.diff(offsets)
        for k in np.flatnonzero(lengths <= 0):
            problems.append(f"dialogue {self.dialogue_ids[k]}: empty dialogue (no utterances)")
        if len(self.splits) != n_dialogues:
            problems.append(f"field 'splits': expected {n_dialogues} entries, found {len(self.splits)}")
        else:
            for k in np.flatnonzero(~np.isin(self.splits, SPLITS)):
                problems.append(
                    f"dialogue {self.dialogue_ids[k]}, field 'split': expected one of "
                    f"{', '.join(SPLITS)}, found {self.splits[k]!r}"
                )
        for m, x in self.features.items():
            if m not in MODALITIES:
                problems.append(f"unknown modality {m!r}; valid letters are {', '.join(MODALITIES)}")
                continue
            if x.ndim != 2 or x.shape[0] != n_utt:
                problems.append(
                    f"field '{m}': expected an array [{n_utt}, d] (one row per utterance), "
                    f"found shape {x.shape}"
                )
                continue
            if x.dtype != np.float32:
                problems.append(f"field '{m}': expected float32, found {x.dtype}")
            bad_rows = np.flatnonzero(~np.isfinite(x).all(axis=1))
            if len(bad_rows):
                dialogues = np.unique(np.searchsorted(offsets, bad_rows, side="right") - 1)
                ids = ", ".join(str(self.dialogue_ids[k]) for k in dialogues[:5])
                problems.append(
                    f"dialogue {ids}, field '{m}': expected finite values, found NaN or inf in "
                    f"{len(bad_rows)} utterance(s)"
                )
        for field_name, values in (("speakers", self.speakers), ("labels", self.labels)):
            if values.shape != (n_utt,):
                problems.append(
                    f"field '{field_name}': expected {n_utt} entries (one per utterance), "
                    f"found shape {values.shape}"
                )
        if self.labels.shape == (n_utt,) and n_utt:
            out = np.flatnonzero((self.labels < 0) | (self.labels >= len(self.label_names)))
            if len(out):
                bad = int(np.searchsorted(offsets, out[0], side="right") - 1)
                problems.append(
                    f"dialogue {self.dialogue_ids[bad]}, field 'labels': expected classes in "
                    f"0..{len(self.label_names) - 1}, found {self.labels[out[0]]} "
                    f"({len(out)} utterance(s) out of range)"
                )
        if self.speakers.shape == (n_utt,) and n_utt and self.speakers.min() < 0:
            bad = int(np.searchsorted(offsets, np.argmin(self.speakers), side="right") - 1)
            problems.append(
                f"dialogue {self.dialogue_ids[bad]}, field 'speakers': expected non-negative "
                f"speaker indices, found {self.speakers.min()}"
            )
        if len(set(map(str, self.dialogue_ids))) != n_dialogues:
            problems.append("field 'dialogue_ids': dialogue ids are not unique")
        if problems:
            listing = "\n  - ".join(problems)
            raise DataFormatError(f"{self.name}: {len(problems)} problem(s):\n  - {listing}")


def concatenate_dialogues(
    dialogues: list[Conversation], *, label_names: tuple[str, ...], name: str, source_format: str
) -> ConversationDataset:
    """Build a :class:`ConversationDataset` from per-dialogue pieces (used by loaders).

    The pieces' feature arrays are handed over: each modality is concatenated, then its
    per-dialogue arrays are dropped from ``dialogues``, so a load never holds more than the
    pieces plus one concatenated modality.
    """
    if not dialogues:
        raise DataFormatError(f"{name}: no dialogues.")
    modalities = list(dialogues[0].features)
    lengths = np.array([len(c.labels) for c in dialogues], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    features = {}
    for m in modalities:
        features[m] = np.concatenate([np.asarray(c.features.pop(m), dtype=np.float32) for c in dialogues])
    return ConversationDataset(
        features=features,
        offsets=offsets,
        dialogue_ids=np.array([c.dialogue_id for c in dialogues], dtype=str),
        splits=np.array([c.split for c in dialogues], dtype=str),
        speakers=np.concatenate([np.asarray(c.speakers, dtype=np.int64) for c in dialogues]),
        labels=np.concatenate([np.asarray(c.labels, dtype=np.int64) for c in dialogues]),
        label_names=tuple(label_names),
        name=name,
        source_format=source_format,
    )
