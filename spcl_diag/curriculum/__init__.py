"""Self-paced curriculum learning: difficulty terms, the threshold schedule, the arms and their controls.

The names are imported on first use (PEP 562), so importing one light module of the package
(``spcl_diag.curriculum.names``) does not import torch.

>>> from spcl_diag.curriculum import SelfPacedCurriculum, ARMS  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "ARMS": "spcl_diag.curriculum.names",
    "PACED_ARMS": "spcl_diag.curriculum.names",
    "SelfPacedCurriculum": "spcl_diag.curriculum.self_paced",
    "SelfPacedThreshold": "spcl_diag.curriculum.pacing",
    "Difficulty": "spcl_diag.curriculum.difficulty",
    "spcl_difficulty": "spcl_diag.curriculum.difficulty",
    "PacingRecord": "spcl_diag.curriculum.arms",
}

if TYPE_CHECKING:  # pragma: no cover
    from spcl_diag.curriculum.arms import PacingRecord
    from spcl_diag.curriculum.difficulty import Difficulty, spcl_difficulty
    from spcl_diag.curriculum.names import ARMS, PACED_ARMS
    from spcl_diag.curriculum.pacing import SelfPacedThreshold
    from spcl_diag.curriculum.self_paced import SelfPacedCurriculum


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "ARMS",
    "PACED_ARMS",
    "Difficulty",
    "PacingRecord",
    "SelfPacedCurriculum",
    "SelfPacedThreshold",
    "spcl_difficulty",
]
