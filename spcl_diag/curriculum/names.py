"""The names of the curriculum arms, importable without torch (run configs and grids check them).

:mod:`spcl_diag.curriculum.arms` says what each arm does.
"""

from __future__ import annotations

ARMS: tuple[str, ...] = ("none", "spcl", "random", "anti", "spcl-utterance", "spcl-conversation")
PACED_ARMS: tuple[str, ...] = ("random", "anti")  # arms that replay an spcl run's counts
