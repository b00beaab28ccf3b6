"""Self-paced curriculum learning: difficulty terms, the threshold schedule, the arms and their controls.

The names are imported on first use (PEP 562), so importing one light module of the package
(``spcl_diag.curriculum.names``) does not import torch.

>>> from spcl_diag.curriculum import SelfPacedCurriculum, ARMS  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spcl_diag._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)


__all__ = [
    "ARMS",
    "PACED_ARMS",
    "Difficulty",
    "PacingRecord",
    "SelfPacedCurriculum",
    "SelfPacedThreshold",
    "spcl_difficulty",
]
