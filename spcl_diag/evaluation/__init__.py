"""Scoring a trained model: its predictions, masked and permuted evaluation and the contribution metrics they
give, linear probes, checkpoints.

:mod:`spcl_diag.metrics` keeps the formulas (pure functions over arrays); this package runs
a trained :class:`~spcl_diag.models.base.Backbone` to produce their inputs. It knows models and
splits, never run folders: re-scoring a saved run (``evaluate_run``, ``probe_run``) is
:mod:`spcl_diag.runs.scoring`.
"""

from __future__ import annotations

from typing import Any

from spcl_diag._deprecation import moved
from spcl_diag.evaluation.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from spcl_diag.evaluation.contribution import Contribution, contribution_scores
from spcl_diag.evaluation.masking import (
    masked_evaluation,
    permuted_evaluation,
    permuted_scores,
    subset_scores,
)
from spcl_diag.evaluation.predict import SplitPredictions, evaluate
from spcl_diag.evaluation.probe import fit_linear_probe, probe_scores, representations

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "Contribution",
    "SplitPredictions",
    "contribution_scores",
    "evaluate",
    "fit_linear_probe",
    "load_checkpoint",
    "masked_evaluation",
    "permuted_evaluation",
    "permuted_scores",
    "probe_scores",
    "representations",
    "save_checkpoint",
    "subset_scores",
]


def __getattr__(name: str) -> Any:
    if name in ("evaluate_run", "probe_run"):  # moved up to the runs layer (issue 26)
        return moved(__name__, name, ("spcl_diag.runs.scoring",))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
