"""Reader of the COSMIC metadata pickles (``iemocap.pkl`` / ``meld.pkl``): labels, no features.

IEMOCAP, a list of 6: ``speakers`` (``'M'``/``'F'``), ``labels``, ``sentences``,
``trainIds``, ``testIds``, ``validIds``. MELD, a list of 7: ``speakers`` (one-hot rows over
9 slots, in order of appearance in the dialogue), ``emotion labels``, ``sentiment labels``,
``sentences``, ``trainIds``, ``testIds``, ``validIds``. ``validIds`` is the official dev
set. The result has the dialogue structure, speakers, labels and splits but no modality
features: use it to inspect a corpus, not to train.
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
    speakers_from_indices,
    speakers_from_letters,
    split_plan,
)

IEMOCAP_FIELDS = ("speakers", "labels", "sentences", "trainIds", "testIds", "validIds")
MELD_FIELDS = ("speakers", "labels", "sentiment", "sentences", "trainIds", "testIds", "validIds")


def read_cosmic(obj: Any, *, problems: Problems, source_format: str, meld: bool) -> ConversationDataset:
    """A structure-only dataset from COSMIC metadata (IEMOCAP when ``meld`` is False)."""
    fields = MELD_FIELDS if meld else IEMOCAP_FIELDS
    if not isinstance(obj, (list, tuple)) or len(obj) != len(fields):
        found = f"{type(obj).__name__} of {len(obj)} items" if isinstance(obj, (list, tuple)) else type(obj).__name__
        problems.add(f"expected a list of {len(fields)} ({', '.join(fields)}), found a {found}")
        problems.raise_if_any()
    speakers, labels = obj[0], obj[1]
    for name, value in zip(fields, obj):
        if name in ("speakers", "labels") and not isinstance(value, Mapping):
            problems.add(f"expected a dict keyed by dialogue id, found {type(value).__name__}", field=name)
    problems.raise_if_any()
    train, test, dev = obj[-3:]
    plan = split_plan([("train", "trainIds", train), ("dev", "validIds", dev), ("test", "testIds", test)],
                      labels, problems=problems)
    to_int = speakers_from_indices if meld else speakers_from_letters
    raw = []
    for key, split in plan:
        if key not in speakers:
            problems.add("absent from speakers", dialogue=key)
            continue
        raw.append(RawDialogue(key=key, split=split, labels=labels[key],
                               speakers=to_int(speakers[key], dialogue=key, problems=problems)))
    return assemble(raw, problems=problems, label_names=MELD_LABELS if meld else IEMOCAP_LABELS,
                    source_format=source_format)
