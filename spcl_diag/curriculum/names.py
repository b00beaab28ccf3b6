"""The names of the curriculum arms, importable without torch (run configs and grids check them).

:mod:`spcl_diag.curriculum.arms` says what each arm does.
"""

from __future__ import annotations

from spcl_diag.suggest import unknown_name

ARMS: tuple[str, ...] = ("none", "spcl", "random", "anti", "spcl-utterance", "spcl-conversation")
PACED_ARMS: tuple[str, ...] = ("random", "anti")  # arms that replay an spcl run's counts


def unknown_arm_problem(arm: str) -> str:
    """The one sentence for an arm that is not in :data:`ARMS` (the run config and both curricula say it)."""
    return unknown_name("curriculum", arm, ARMS, listed="valid arms are")
