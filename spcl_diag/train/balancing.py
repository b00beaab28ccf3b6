"""Gradient balancing methods: the hook the training loop calls after clipping.

A balancing method sees the model, the batch output and the epoch after ``backward`` and
gradient clipping and before the optimiser step, and may rescale gradients per modality
(OGM-GE, Ada2I's modulation). It reports per-epoch rows through :meth:`Balancer.epoch_rows`.
"""

from __future__ import annotations

from torch import Tensor

from spcl_diag.data.batching import Batch
from spcl_diag.models.base import Backbone, ModelOutput


class Balancer:
    """No balancing: the base class, and the ``"none"`` method."""

    def after_clip(self, model: Backbone, output: ModelOutput, batch: Batch, *, epoch: int) -> None:
        """Modify ``p.grad`` of ``model`` in place (the base class does nothing)."""

    def epoch_rows(self) -> dict[tuple[str, str], Tensor | float]:
        """``(metric, scope) -> value`` rows for the epoch just finished; resets the sums."""
        return {}


def make_balancer(name: str, *, model: Backbone) -> Balancer:
    """The balancing method called ``name`` for ``model``."""
    if name == "none":
        return Balancer()
    raise ValueError(f"unknown balancing method {name!r}; valid methods are none.")
