"""Builders of tiny feature files in each exact format (written to tmp_path by the tests)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

IEMOCAP_IDS = ["Ses01F_impro01", "Ses01M_script01", "Ses02F_impro03", "Ses03M_impro02", "Ses05F_impro01"]
LENGTHS = [3, 4, 2, 5, 3]


def per_dialogue(ids: list[Any], make) -> dict[Any, Any]:
    return {d: make(n, k) for k, (d, n) in enumerate(zip(ids, LENGTHS))}


def features(ids: list[Any], width: int, seed: int) -> dict[Any, np.ndarray]:
    rng = np.random.default_rng(seed)
    return per_dialogue(ids, lambda n, k: rng.standard_normal((n, width)))


def iemocap_tuple(dims: tuple[int, int, int] = (100, 100, 512)) -> list[Any]:
    """The 9-tuple as a mutable list (tests break one field, then pickle a tuple)."""
    ids = IEMOCAP_IDS
    return [
        per_dialogue(ids, lambda n, k: [f"{ids[k]}_{j}" for j in range(n)]),
        per_dialogue(ids, lambda n, k: (["M", "F"] * n)[:n]),
        per_dialogue(ids, lambda n, k: [(k + j) % 6 for j in range(n)]),
        features(ids, dims[0], 1),
        features(ids, dims[1], 2),
        features(ids, dims[2], 3),
        per_dialogue(ids, lambda n, k: ["words"] * n),
        ids[:4],
        ids[4:],
    ]


def meld_tuple() -> list[Any]:
    ids = list(range(5))
    onehot = lambda n, k: [list(np.eye(9, dtype=int)[j % 3]) for j in range(n)]
    return [
        per_dialogue(ids, lambda n, k: list(range(n))),
        per_dialogue(ids, onehot),
        per_dialogue(ids, lambda n, k: [(k + j) % 7 for j in range(n)]),
        features(ids, 600, 1),
        features(ids, 300, 2),
        features(ids, 342, 3),
        per_dialogue(ids, lambda n, k: ["words"] * n),
        ids[:4],
        ids[4:],
        per_dialogue(ids, lambda n, k: [0] * n),
    ]


def spcl_dict(meld: bool) -> dict[str, Any]:
    ids = list(range(5)) if meld else IEMOCAP_IDS
    dims = (768, 300, 342) if meld else (768, 512, 1024)
    out = {
        "trainVid": ids[:4],
        "testVid": ids[4:],
        "label": per_dialogue(ids, lambda n, k: [(k + j) % 6 for j in range(n)]),
        "text": features(ids, dims[0], 1),
        "audio": features(ids, dims[1], 2),
        "visual": features(ids, dims[2], 3),
        "sentence": per_dialogue(ids, lambda n, k: ["words"] * n),
    }
    if meld:
        out["speakers"] = per_dialogue(ids, lambda n, k: [j % 3 for j in range(n)])
    else:
        out["speaker"] = per_dialogue(ids, lambda n, k: (["M", "F"] * n)[:n])
    return out


def cosmic(meld: bool) -> list[Any]:
    ids = list(range(5)) if meld else IEMOCAP_IDS
    speakers = (per_dialogue(ids, lambda n, k: [list(np.eye(9, dtype=int)[j % 2]) for j in range(n)]) if meld
                else per_dialogue(ids, lambda n, k: (["M", "F"] * n)[:n]))
    labels = per_dialogue(ids, lambda n, k: [j % 6 for j in range(n)])
    sentences = per_dialogue(ids, lambda n, k: ["words"] * n)
    middle = [labels, per_dialogue(ids, lambda n, k: [0] * n), sentences] if meld else [labels, sentences]
    return [speakers, *middle, ids[:3], ids[4:], ids[3:4]]


def write_pickle(obj: Any, path: Path, *, protocol: int = 2) -> Path:
    with open(path, "wb") as handle:
        pickle.dump(tuple(obj) if isinstance(obj, list) and len(obj) in (9, 10) else obj, handle, protocol=protocol)
    return path
