"""Shared pieces of the feature-file readers: label sets, problem collection, assembly.

Every reader turns its file into a list of :class:`RawDialogue` (the fields of one
dialogue as the file stores them) and hands it to :func:`assemble`, which converts,
checks and concatenates them. All problems are collected and raised together as one
:class:`~spcl_diag.errors.DataFormatError` whose lines name the file, the dialogue and the
field, and say what was expected and what was found.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spcl_diag.data.dataset import Conversation, ConversationDataset, concatenate_dialogues
from spcl_diag.errors import DataFormatError
from spcl_diag.modalities import MODALITY_NAMES

IEMOCAP_LABELS: tuple[str, ...] = ("hap", "sad", "neu", "ang", "exc", "fru")
MELD_LABELS: tuple[str, ...] = ("neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger")
IEMOCAP_SPEAKERS: dict[str, int] = {"M": 0, "F": 1}
MAX_LISTED = 25  # problems listed in one error message; the rest are counted


class Problems:
    """Collects data problems and raises them as one :class:`DataFormatError`."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[str] = []

    def add(self, message: str, *, dialogue: object = None, field: str | None = None) -> None:
        """Record ``message`` about ``dialogue`` / ``field`` (either may be omitted)."""
        where = []
        if dialogue is not None:
            where.append(f"dialogue {dialogue}")
        if field is not None:
            where.append(f"field '{field}'")
        self.items.append(", ".join(where) + ": " + message if where else message)

    def raise_if_any(self) -> None:
        """Raise one error listing every problem (the first :data:`MAX_LISTED`)."""
        if not self.items:
            return
        if len(self.items) == 1:
            raise DataFormatError(f"{self.file}, {self.items[0]}.")
        listed = "\n  - ".join(self.items[:MAX_LISTED])
        more = len(self.items) - MAX_LISTED
        tail = f"\n  ... and {more} more" if more > 0 else ""
        raise DataFormatError(f"{self.file}: {len(self.items)} problems:\n  - {listed}{tail}")


@dataclass
class RawDialogue:
    """One dialogue as read from a file, before conversion and checks."""

    key: object  # the dialogue's key in the file (str or int)
    split: str
    speakers: Any  # per-utterance speaker indices (already mapped to integers)
    labels: Any
    features: dict[str, Any] = field(default_factory=dict)  # modality letter -> [n_utt, d] rows


def ordered_ids(ids: Any, *, field_name: str, problems: Problems) -> list[Any]:
    """The ids of a split in a reproducible order.

    Lists keep the file's order (the fixed dev split takes the first ones); sets, whose
    iteration order depends on string hashing, are sorted.
    """
    if isinstance(ids, (set, frozenset)):
        return sorted(ids, key=lambda k: (str(type(k)), k))
    if isinstance(ids, np.ndarray):
        return ids.tolist()
    if isinstance(ids, (list, tuple)) or (isinstance(ids, Iterable) and not isinstance(ids, (str, bytes, dict))):
        return list(ids)
    problems.add(f"expected a list of dialogue ids, found {type(ids).__name__}", field=field_name)
    return []


def split_plan(
    splits: Sequence[tuple[str, str, Any]], available: Mapping[Any, Any], *, problems: Problems
) -> list[tuple[Any, str]]:
    """``(key, split)`` pairs for the dialogues listed in the split fields.

    Parameters
    ----------
    splits
        ``(split, field name in the file, ids)`` triples, in dataset order.
    available
        A per-dialogue mapping of the file (ids missing from it are reported).
    """
    plan: list[tuple[Any, str]] = []
    seen: dict[Any, str] = {}
    for split, field_name, ids in splits:
        for key in ordered_ids(ids, field_name=field_name, problems=problems):
            if key in seen:
                problems.add(f"listed in both {seen[key]} and {field_name}", dialogue=key, field=field_name)
                continue
            if key not in available:
                problems.add(f"listed in {field_name} but absent from the data", dialogue=key, field=field_name)
                continue
            seen[key] = field_name
            plan.append((key, split))
    if not plan and not problems.items:
        problems.add("no dialogues listed in the split fields")
    return plan


def speakers_from_letters(raw: Any, *, dialogue: object, problems: Problems) -> NDArray[np.int64] | None:
    """IEMOCAP speaker letters ``'M'``/``'F'`` -> 0/1."""
    letters = [s.decode("latin1") if isinstance(s, bytes) else str(s) for s in np.asarray(raw).ravel().tolist()]
    unknown = sorted(set(letters) - set(IEMOCAP_SPEAKERS))
    if unknown:
        problems.add(f"expected speaker letters M or F, found {unknown}", dialogue=dialogue, field="speakers")
        return None
    return np.array([IEMOCAP_SPEAKERS[s] for s in letters], dtype=np.int64)


def speakers_from_indices(raw: Any, *, dialogue: object, problems: Problems) -> NDArray[np.int64] | None:
    """Integer speaker indices, or one-hot rows ``[n_utt, n_speakers]`` (-> argmax)."""
    try:
        values = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        problems.add("expected integer or one-hot speakers, found non-numeric values", dialogue=dialogue, field="speakers")
        return None
    if values.ndim == 2:
        if values.shape[0] and not np.allclose(values.sum(axis=1), 1.0):
            problems.add("expected one-hot speaker rows (one 1 per row)", dialogue=dialogue, field="speakers")
            return None
        return values.argmax(axis=1).astype(np.int64)
    if values.ndim != 1 or (values.size and (values != np.round(values)).any()):
        problems.add(f"expected integer speaker indices, found an array of shape {values.shape}", dialogue=dialogue, field="speakers")
        return None
    return values.astype(np.int64)


def hand_over(*fields: Any) -> None:
    """Empty the file's per-dialogue feature dicts once every :class:`RawDialogue` holds its rows.

    :func:`assemble` then frees each dialogue's rows as soon as they are converted, so a
    load holds the file's features about once, not twice (the unpickled object is the
    loader's own and is not used again).
    """
    for value in fields:
        if isinstance(value, dict):
            value.clear()


def assemble(
    raw: list[RawDialogue],
    *,
    problems: Problems,
    label_names: tuple[str, ...],
    source_format: str,
    expected_dims: Mapping[str, int] | None = None,
) -> ConversationDataset:
    """Convert, check and concatenate the dialogues of one file.

    Parameters
    ----------
    raw
        The dialogues in dataset order; their ``features`` are consumed (emptied).
    problems
        Problems found so far; every new one is added and all are raised together.
    label_names
        Class names; labels must lie in ``0..len(label_names) - 1``.
    source_format
        The format name recorded on the dataset.
    expected_dims
        Feature width per modality required by the format; when omitted, every dialogue
        must have the width of the first one.
    """
    widths: dict[str, tuple[int, object]] = {m: (d, None) for m, d in (expected_dims or {}).items()}
    dialogues: list[Conversation] = []
    for item in raw:
        did = item.key
        labels = _labels(item.labels, did, len(label_names), problems)  # None: a problem is recorded
        lengths = {"labels": _length(item.labels), "speakers": _length(item.speakers)}
        lengths.update({MODALITY_NAMES[m]: _length(values) for m, values in item.features.items()})
        n = _agreed_length(lengths)
        if n == 0:
            problems.add("empty dialogue (no utterances)", dialogue=did)
            continue
        ok = labels is not None and item.speakers is not None
        for name, length in lengths.items():
            if length is not None and length != n:
                agreeing = ", ".join(k for k, v in lengths.items() if v == n)
                problems.add(f"expected {n} utterances (as in {agreeing}), found {length}", dialogue=did, field=name)
                ok = False
        features: dict[str, NDArray[np.float32]] = {}
        for m, values in item.features.items():
            if lengths[MODALITY_NAMES[m]] != n:
                continue
            x = _features(values, did, m, n, widths, problems)
            ok = ok and x is not None
            if x is not None:
                features[m] = x
        item.features = {}  # the file's rows are converted: drop them as we go (peak memory)
        if ok:
            dialogues.append(Conversation(str(did), item.split, features, item.speakers, labels))  # type: ignore[arg-type]
    problems.raise_if_any()
    return concatenate_dialogues(dialogues, label_names=label_names, name=problems.file, source_format=source_format)


def _length(values: Any) -> int | None:
    """Utterances in a per-dialogue field (rows of an array, items of a list); None if unknown."""
    if values is None:
        return None
    shape = getattr(values, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) else None
    try:
        return len(values)
    except TypeError:
        return None


def _agreed_length(lengths: dict[str, int | None]) -> int:
    """The utterance count most fields agree on (labels win a tie): the others are the wrong ones."""
    known = [v for v in lengths.values() if v is not None]
    if not known:
        return 0
    counts = {v: known.count(v) for v in known}
    best = max(counts.values())
    label_length = lengths.get("labels")
    if label_length is not None and counts.get(label_length) == best:
        return label_length
    return next(v for v in known if counts[v] == best)


def _labels(raw: Any, did: object, n_classes: int, problems: Problems) -> NDArray[np.int64] | None:
    try:
        values = np.asarray(raw, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        problems.add("expected integer class labels, found non-numeric values", dialogue=did, field="labels")
        return None
    bad = ~np.isfinite(values) | (values != np.round(np.nan_to_num(values)))
    if bad.any():
        problems.add(f"expected integer class labels, found {values[bad][0]}", dialogue=did, field="labels")
        return None
    out = (values < 0) | (values >= n_classes)
    if out.any():
        problems.add(
            f"expected classes in 0..{n_classes - 1}, found {int(values[out][0])} "
            f"({int(out.sum())} utterance(s) out of range)",
            dialogue=did,
            field="labels",
        )
        return None
    return values.astype(np.int64)


def _features(
    raw: Any, did: object, m: str, n: int, widths: dict[str, tuple[int, object]], problems: Problems
) -> NDArray[np.float32] | None:
    name = MODALITY_NAMES[m]
    try:
        x = np.asarray(raw, dtype=np.float32)
    except (TypeError, ValueError):
        problems.add("utterances have different feature widths or non-numeric values", dialogue=did, field=name)
        return None
    if x.ndim != 2:
        problems.add(f"expected a [utterances, features] array, found shape {x.shape}", dialogue=did, field=name)
        return None
    if x.shape[0] != n:
        problems.add(f"expected {n} utterances (one per label), found {x.shape[0]}", dialogue=did, field=name)
        return None
    expected, source = widths.setdefault(m, (x.shape[1], did))
    if x.shape[1] != expected:
        as_in = f" (as in dialogue {source})" if source is not None else ""
        problems.add(f"expected {expected} features per utterance{as_in}, found {x.shape[1]}", dialogue=did, field=name)
        return None
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        problems.add(
            f"expected finite values, found NaN or inf in {int(bad.sum())} utterance(s) "
            f"(first at position {int(np.flatnonzero(bad)[0])})",
            dialogue=did,
            field=name,
        )
        return None
    return x
