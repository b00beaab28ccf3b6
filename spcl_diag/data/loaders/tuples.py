"""Readers of the tuple pickles of MMGCN / MM-DFN / DialogueGCN / COGMEN.

IEMOCAP (``IEMOCAP_features.pkl``), a 9-tuple of per-dialogue dicts and two id lists::

    videoIDs, videoSpeakers, videoLabels, videoText, videoAudio, videoVisual,
    videoSentence, trainVid, testVid

MELD (MMGCN ``MELD_features_raw1.pkl``), a 10-tuple::

    videoIDs, videoSpeakers, videoLabels, videoText, videoAudio, videoVisual,
    videoSentence, trainVid, testVid, <sentiment labels>

``videoSpeakers`` holds ``'M'``/``'F'`` letters (IEMOCAP) or one-hot rows over 9 speaker
slots (MELD; converted with argmax). The tenth MELD element is the per-dialogue 3-class
sentiment label dict in the DialogueGCN / MMGCN lineage (``n_classes == 3`` selects it
there); it is not used. ``trainVid`` holds train and dev dialogues together: the dev set is
chosen afterwards (:mod:`spcl_diag.data.splits`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.data.loaders.common import (
    IEMOCAP_LABELS,
    MELD_LABELS,
    Problems,
    RawDialogue,
    assemble,
    hand_over,
    speakers_from_indices,
    speakers_from_letters,
    split_plan,
)

IEMOCAP_FIELDS = ("videoIDs", "videoSpeakers", "videoLabels", "videoText", "videoAudio", "videoVisual",
                  "videoSentence", "trainVid", "testVid")
MELD_FIELDS = IEMOCAP_FIELDS + ("videoSentiment",)


def check_tuple(obj: Any, fields: tuple[str, ...], problems: Problems) -> bool:
    """True when ``obj`` is a tuple/list of ``len(fields)`` with dicts in the per-dialogue slots."""
    if not isinstance(obj, (tuple, list)) or len(obj) != len(fields):
        found = f"a {type(obj).__name__} of {len(obj)} items" if isinstance(obj, (tuple, list)) else f"a {type(obj).__name__}"
        problems.add(f"expected a {len(fields)}-tuple ({', '.join(fields)}), found {found}")
        return False
    for i in range(7):
        if not isinstance(obj[i], Mapping):
            problems.add(f"expected a dict keyed by dialogue id, found {type(obj[i]).__name__}", field=fields[i])
            return False
    return True


def first_dims(obj: Any) -> dict[str, int]:
    """Feature widths of the first dialogue of a 9/10-tuple (for format detection)."""
    dims = {}
    for m, slot in zip("tav", (3, 4, 5)):
        for rows in obj[slot].values():
            first = rows[0] if len(rows) else []
            dims[m] = len(first) if hasattr(first, "__len__") else 0
            break
    return dims


def read_tuple(
    obj: Any, *, problems: Problems, source_format: str, meld: bool, expected_dims: Mapping[str, int] | None
) -> ConversationDataset:
    """A dataset from an IEMOCAP 9-tuple (``meld=False``) or a MELD 10-tuple (``meld=True``)."""
    fields = MELD_FIELDS if meld else IEMOCAP_FIELDS
    if not check_tuple(obj, fields, problems):
        problems.raise_if_any()
    _ids, speakers, labels, text, audio, visual = obj[:6]
    plan = split_plan([("train", "trainVid", obj[7]), ("test", "testVid", obj[8])], labels, problems=problems)
    raw = []
    for key, split in plan:
        missing = [name for name, d in zip(fields[1:6], obj[1:6]) if key not in d]
        if missing:
            problems.add(f"absent from {', '.join(missing)}", dialogue=key)
            continue
        to_int = speakers_from_indices if meld else speakers_from_letters
        raw.append(RawDialogue(
            key=key,
            split=split,
            speakers=to_int(speakers[key], dialogue=key, problems=problems),
            labels=labels[key],
            features={"t": text[key], "a": audio[key], "v": visual[key]},
        ))
    hand_over(text, audio, visual)
    return assemble(raw, problems=problems, label_names=MELD_LABELS if meld else IEMOCAP_LABELS,
                    source_format=source_format, expected_dims=expected_dims)
