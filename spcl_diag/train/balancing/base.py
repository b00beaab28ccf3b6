r"""The balancer interface the training loop calls, and what several methods share.

Per training step the loop calls, in this order,

1. :meth:`Balancer.loss` on the curriculum's joint loss: a method may add terms (auxiliary
   unimodal losses, PMR's prototype terms) or reweight heads (G-Blending);
2. ``backward``, then :meth:`Balancer.before_clip`: a method may rewrite gradients before the
   global norm clip (AGM's coefficients, MMPareto's combination);
3. the clip, then :meth:`Balancer.after_clip` (OGM-GE and Ada2I scale gradients here);

before each epoch :meth:`Balancer.epoch_start` (PMR computes its prototypes here), and once per
epoch :meth:`Balancer.epoch_rows` (the ``(metric, scope) -> value`` rows of the
epoch just trained, written to ``epochs.csv`` with split ``train``) and, after the dev
evaluation, :meth:`Balancer.epoch_end` with the epoch's per-scope probabilities.

Every extra per-utterance loss term is reduced with the ``reduce`` callable the loop passes
to :meth:`Balancer.loss`: the curriculum's selection (:func:`~spcl_diag.curriculum.arms.selection_loss`
with the step's ``v`` and normalisation), so a method's terms see the same utterances as
the joint loss under every curriculum arm. With ``train.class_weights = "balanced"`` every
cross-entropy term a method adds (unimodal, prototypical) carries the same class weights
:math:`w_{y_j}` as the joint loss (:func:`unimodal_losses`, ``class_weights``).

A method that trains parameters of its own (``uni-aux``'s separate heads) returns them from
:meth:`Balancer.parameters`; the loop optimises and clips them with the model's.

*The modality's encoder* (:func:`encoder_parameters`) is the part of branch ``m`` that the
reference implementations of OGM-GE and Ada2I modulate: every parameter of
``model.branches[m]`` except its classifier (a child named ``head`` or ``out``, the module
whose input is ``ModelOutput.features[m]``) and Ada2I's fusion layers (``afw``, the attention
feature weighting, and ``amw_weight``, the modality-wise classifier).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from spcl_diag.data.batching import Batch, DeviceSplit
from spcl_diag.models.base import Backbone, ModelOutput

Reduce = Callable[[Tensor], Tensor]  # [N] per-utterance loss -> scalar, with the curriculum's selection
EpochProbs = Mapping[str, tuple[Mapping[str, np.ndarray], np.ndarray]]  # split -> (scope -> [U, C] probs, [U] labels)


class Balancer:
    """No balancing: the base class, and the ``"none"`` method."""

    def loss(self, loss: Tensor, output: ModelOutput, batch: Batch, *, reduce: Reduce, epoch: int) -> Tensor:
        """The loss to back-propagate, given the curriculum's joint loss (the base returns it)."""
        return loss

    def epoch_start(self, model: Backbone, train: DeviceSplit, *, epoch: int) -> None:
        """Called before 0-based ``epoch`` trains, with the training split (the base does nothing)."""

    def parameters(self) -> Iterator[torch.nn.Parameter]:
        """Parameters the method trains besides the model's (the base has none)."""
        return iter(())

    def before_clip(self, model: Backbone, output: ModelOutput, batch: Batch, *, epoch: int) -> None:
        """Modify ``p.grad`` in place before the gradient-norm clip (the base does nothing)."""

    def after_clip(self, model: Backbone, output: ModelOutput, batch: Batch, *, epoch: int) -> None:
        """Modify ``p.grad`` of ``model`` in place after the clip (the base class does nothing)."""

    def epoch_rows(self) -> dict[tuple[str, str], Tensor | float]:
        """``(metric, scope) -> value`` rows for the epoch just finished; resets the sums."""
        return {}

    def epoch_end(self, epoch: int, probs: EpochProbs) -> None:
        """Called after the dev evaluation of 0-based ``epoch`` (the base does nothing)."""


def gold_scores(per_modality: Mapping[str, Tensor], labels: Tensor) -> Tensor:
    r"""``[M]`` summed gold-class softmax probability :math:`s_m` of each modality (no gradient).

    Examples
    --------
    >>> logits = {"t": torch.tensor([[2.0, 0.0], [0.0, 2.0]]), "a": torch.zeros(2, 2)}
    >>> gold_scores(logits, torch.tensor([0, 1]))
    tensor([1.7616, 1.0000])
    """
    with torch.no_grad():
        return torch.stack(
            [z.softmax(-1).gather(1, labels.unsqueeze(1)).sum() for z in per_modality.values()]
        )


def unimodal_losses(
    logits: Mapping[str, Tensor], labels: Tensor, modalities: str, reduce: Reduce, *,
    class_weights: Tensor | None = None,
) -> dict[str, Tensor]:
    r"""Modality -> the curriculum-reduced cross-entropy :math:`w_{y_j} l^m_j` of ``logits[m]``.

    ``class_weights`` are the joint loss's (``train.class_weights``), so every term a method adds
    weighs the classes as the joint loss does.

    Examples
    --------
    >>> logits = {"t": torch.tensor([[0.0, 0.0]])}
    >>> unimodal_losses(logits, torch.tensor([1]), "t", torch.mean, class_weights=torch.tensor([1.0, 2.0]))
    {'t': tensor(1.3863)}
    """
    return {m: reduce(F.cross_entropy(logits[m], labels, weight=class_weights, reduction="none")) for m in modalities}


CLASSIFIER_NAMES: tuple[str, ...] = ("head", "out")  # a branch's classifier: its input is features[m]
FUSION_NAMES: tuple[str, ...] = ("afw", "amw_weight")  # Ada2I's cross-modal weighting and its classifier


def encoder_parameters(model: Backbone, modality: str) -> list[torch.nn.Parameter]:
    """The parameters of ``modality``'s encoder: branch ``m`` without its classifier and fusion layers."""
    skipped = (*CLASSIFIER_NAMES, *FUSION_NAMES)
    return [p for name, p in model.branches[modality].named_parameters() if name.split(".")[0] not in skipped]


def classifier(model: Backbone, modality: str) -> torch.nn.Module:
    """The classifier of ``modality``'s branch (its child named ``head`` or ``out``)."""
    branch = model.branches[modality]
    for name in CLASSIFIER_NAMES:
        if name in dict(branch.named_children()):
            return dict(branch.named_children())[name]
    raise ValueError(
        f"{type(model).__name__}: branch {modality!r} has no classifier child named {' or '.join(CLASSIFIER_NAMES)}; "
        "name the module that maps features[m] to the modality's logits 'head'."
    )


def in_window(epoch: int, start: int, end: int | None) -> bool:
    """True when ``start <= epoch < end`` (``end=None``: no end)."""
    return epoch >= start and (end is None or epoch < end)


class EpochMeans:
    """Per-epoch means over steps of ``(metric, scope)`` values, kept on the device.

    Examples
    --------
    >>> means = EpochMeans()
    >>> means.add("weight", "t", torch.tensor(1.0)); means.add("weight", "t", torch.tensor(3.0))
    >>> means.rows()
    {('weight', 't'): tensor(2.)}
    >>> means.rows()
    {}
    """

    def __init__(self) -> None:
        self._sums: dict[tuple[str, str], Tensor | float] = {}
        self._counts: dict[tuple[str, str], int] = {}

    def add(self, metric: str, scope: str, value: Tensor | float) -> None:
        """Add one step's value."""
        key = (metric, scope)
        value = value.detach() if isinstance(value, Tensor) else float(value)
        self._sums[key] = self._sums[key] + value if key in self._sums else value
        self._counts[key] = self._counts.get(key, 0) + 1

    def rows(self) -> dict[tuple[str, str], Tensor | float]:
        """The means since the last call; resets."""
        rows = {key: total / self._counts[key] for key, total in self._sums.items()}
        self._sums, self._counts = {}, {}
        return rows


def grad_vector(params: list[torch.nn.Parameter]) -> Tensor:
    """The concatenated gradient of ``params`` (zeros where a parameter has none)."""
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])
