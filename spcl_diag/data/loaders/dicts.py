"""Reader of the SPCL / Ada2I dict pickles (``data/<dataset>/<dataset>.pkl``).

A dict with the id lists ``trainVid`` and ``testVid`` (train and dev together, as in the
tuple formats; an optional ``validVid`` or ``devVid`` is taken as the official dev set)
and per-dialogue dicts ``label``, ``text``, ``audio``, ``visual``, ``sentence`` and the
speakers: ``speaker`` with ``'M'``/``'F'`` letters (IEMOCAP) or ``speakers`` with integer
indices or one-hot rows (MELD).
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

PER_DIALOGUE = ("label", "text", "audio", "visual")
DEV_KEYS = ("validVid", "devVid")


def read_dict(
    obj: Any, *, problems: Problems, source_format: str, meld: bool, expected_dims: Mapping[str, int] | None
) -> ConversationDataset:
    """A dataset from an SPCL/Ada2I dict pickle (IEMOCAP when ``meld`` is False)."""
    speaker_key = "speakers" if meld else "speaker"
    if not isinstance(obj, Mapping):
        problems.add(f"expected a dict with keys trainVid, testVid, {speaker_key}, {', '.join(PER_DIALOGUE)}; "
                     f"found a {type(obj).__name__}")
        problems.raise_if_any()
    required = ("trainVid", "testVid", speaker_key) + PER_DIALOGUE
    missing = [k for k in required if k not in obj]
    if missing:
        problems.add(f"missing key(s) {', '.join(missing)}; found keys {', '.join(map(str, obj))}")
    for key in (speaker_key,) + PER_DIALOGUE:
        if key in obj and not isinstance(obj[key], Mapping):
            problems.add(f"expected a dict keyed by dialogue id, found {type(obj[key]).__name__}", field=key)
    problems.raise_if_any()
    dev_key = next((k for k in DEV_KEYS if k in obj), None)
    splits = [("train", "trainVid", obj["trainVid"])]
    if dev_key is not None:
        splits.append(("dev", dev_key, obj[dev_key]))
    splits.append(("test", "testVid", obj["testVid"]))
    plan = split_plan(splits, obj["label"], problems=problems)
    to_int = speakers_from_indices if meld else speakers_from_letters
    raw = []
    for key, split in plan:
        absent = [name for name in (speaker_key,) + PER_DIALOGUE if key not in obj[name]]
        if absent:
            problems.add(f"absent from {', '.join(absent)}", dialogue=key)
            continue
        raw.append(RawDialogue(
            key=key,
            split=split,
            speakers=to_int(obj[speaker_key][key], dialogue=key, problems=problems),
            labels=obj["label"][key],
            features={"t": obj["text"][key], "a": obj["audio"][key], "v": obj["visual"][key]},
        ))
    hand_over(obj["text"], obj["audio"], obj["visual"])
    return assemble(raw, problems=problems, label_names=MELD_LABELS if meld else IEMOCAP_LABELS,
                    source_format=source_format, expected_dims=expected_dims)
