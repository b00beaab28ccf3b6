"""Scoring a trained model: masked and permuted evaluation, linear probes, checkpoints, ``evaluate``.

:mod:`spcl_diag.metrics` keeps the formulas (pure functions over arrays); this package runs
a trained :class:`~spcl_diag.models.base.Backbone` to produce their inputs.
"""

from __future__ import annotations

from spcl_diag.evaluation.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from spcl_diag.evaluation.masking import (
    masked_evaluation,
    permuted_evaluation,
    permuted_scores,
    subset_scores,
)
from spcl_diag.evaluation.probe import fit_linear_probe, probe_scores, representations
from spcl_diag.evaluation.scoring import evaluate_run, probe_run

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "evaluate_run",
    "fit_linear_probe",
    "load_checkpoint",
    "masked_evaluation",
    "permuted_evaluation",
    "permuted_scores",
    "probe_run",
    "probe_scores",
    "representations",
    "save_checkpoint",
    "subset_scores",
]
