"""A model's predictions on a split: the probabilities every score of a run is computed from.

:func:`evaluate` runs a :class:`~spcl_diag.models.base.Backbone` (or its stacked twin) over a
split in evaluation mode and copies the softmax of the joint and of every modality's head to
the host once. The training loop selects its epoch from it, the masked and permuted
evaluations (:mod:`spcl_diag.evaluation.masking`) call it with a batch transform, and it
depends on nothing of the trainer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from spcl_diag.data.batching import Batch, DeviceSplit
from spcl_diag.models.base import Backbone
from spcl_diag.models.stacked import StackedBackbone


@dataclass
class SplitPredictions:
    """Host copies of a split's outputs: labels ``[U]``, probabilities ``[U, C]`` per scope."""

    labels: np.ndarray
    probs: dict[str, np.ndarray]  # "joint" and each modality
    dialogue: np.ndarray  # [U] position of the utterance's dialogue within the split
    dialogue_ids: np.ndarray  # [D] ids of the split's dialogues



@torch.no_grad()
def evaluate(
    model: Backbone | StackedBackbone, split: DeviceSplit, batch_size: int, *,
    transform: Callable[[Batch], Batch] | None = None,
) -> SplitPredictions:
    """Probabilities of every utterance of ``split`` (joint and per modality), on the host.

    ``transform`` rewrites each batch before the forward pass (modality masking, permutation).
    A stacked model (:class:`~spcl_diag.models.stacked.StackedBackbone`) gives ``[A, U, C]``
    probabilities, one row per stacked copy.
    """
    was_training = model.training
    model.eval()
    outputs: dict[str, list[Tensor]] = {}
    for batch in split.eval_batches(batch_size):  # dataset order, so rows concatenate in split order
        output = model(transform(batch) if transform else batch)
        for scope, logits in (("joint", output.joint), *output.per_modality.items()):
            outputs.setdefault(scope, []).append(logits.softmax(-1))
    model.train(was_training)
    return SplitPredictions(
        labels=split.labels_host,
        probs={scope: torch.cat(chunks, dim=-2).cpu().numpy() for scope, chunks in outputs.items()},
        dialogue=split.utterance_dialogue,
        dialogue_ids=split.dialogue_ids,
    )
