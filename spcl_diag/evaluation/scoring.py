"""Deprecated import path: ``spcl_diag.evaluation.scoring`` moved to :mod:`spcl_diag.runs.scoring` (issue 26).

Every old name still resolves, with a DeprecationWarning, until the next release.
"""
# layer-shim

from __future__ import annotations

from typing import Any

from spcl_diag._deprecation import moved


def __getattr__(name: str) -> Any:
    return moved(__name__, name, ("spcl_diag.runs.scoring",))
