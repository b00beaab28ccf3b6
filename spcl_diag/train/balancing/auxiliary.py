r"""Unimodal classifiers trained beside the joint one: the auxiliary cross-entropy baseline (``uni-aux``).

The method adds a unimodal cross-entropy per modality to the training objective; it needs
*pure* heads (see :func:`spcl_diag.config.balancing.balancing_problem`). The per-utterance losses go
through the curriculum's ``reduce`` (:mod:`spcl_diag.train.balancing.base`), so under SPCL the
auxiliary terms see the same utterances as the joint loss.

* ``uni-aux`` (:class:`UnimodalAuxiliary`):
  :math:`\mathcal L = \mathcal L_{\text{joint}} + w \sum_m \mathcal L_m`, the multitask baseline
  the modality-balancing literature compares against (the "uni-modal assistance" baseline of
  MMPareto, Wei and Hu 2024, GeWu-Lab/MMPareto_ICML2024). With ``heads="separate"`` (default, as
  the reference: auxiliary unimodal classifiers beside the fusion classifier)
  :math:`\mathcal L_m` is the cross-entropy of an *auxiliary* head :math:`h^{aux}_m` on the
  modality's features ``features[m]``, a copy of the architecture of the modality's own head
  initialised from the run's balancing seed; the joint head's parameters get no unimodal
  gradient, only the encoders do. ``heads="shared"`` trains the very heads that are summed
  into the joint (a stronger intervention: this project's earlier form).

References
----------
.. [1] Wei, Hu. "MMPareto: Boosting Multimodal Learning with Innocent Unimodal Assistance."
   ICML 2024.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator

import torch
from torch import Tensor, nn

from spcl_diag._deprecation import moved
from spcl_diag.data.batching import Batch
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.train.balancing.base import (
    Balancer,
    EpochMeans,
    Reduce,
    classifier,
    unimodal_losses,
)

UNI_AUX_HEADS: tuple[str, ...] = ("separate", "shared")


def auxiliary_head(model: Backbone, modality: str, generator: torch.Generator) -> nn.Module:
    """A fresh copy of ``modality``'s head: same architecture, linear layers initialised from ``generator``.

    The initialisation is ``nn.Linear``'s own (Kaiming-uniform weights with :math:`a = \\sqrt 5`,
    biases uniform in :math:`\\pm 1/\\sqrt{\\text{fan-in}}`), drawn from ``generator`` so the global
    random state, and with it the run's dropout stream, is untouched.
    """
    head = copy.deepcopy(classifier(model, modality))
    device = next(head.parameters()).device
    head = head.cpu()
    with torch.no_grad():
        for layer in head.modules():
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                if layer.bias is not None:
                    bound = 1 / math.sqrt(layer.in_features)
                    layer.bias.uniform_(-bound, bound, generator=generator)
    return head.to(device)


class UnimodalAuxiliary(Balancer):
    """``uni-aux``: the joint loss plus ``weight`` times each modality's unimodal cross-entropy.

    Parameters
    ----------
    model
        The backbone (pure heads).
    weight
        :math:`w`.
    heads
        ``"separate"``: auxiliary heads (:func:`auxiliary_head`); ``"shared"``: the model's heads.
    seed
        Seed of the auxiliary heads' initialisation.
    class_weights
        ``[C]`` class weights of the joint loss, or ``None``.

    Logs per epoch ``aux_weight`` (the constant :math:`w`) and ``aux_loss`` (the mean reduced
    unimodal loss of each modality).
    """

    def __init__(self, model: Backbone, *, weight: float, heads: str, seed: int, class_weights: Tensor | None = None):
        self.modalities, self.weight, self.class_weights = model.modalities, weight, class_weights
        generator = torch.Generator().manual_seed(seed)
        self.heads = (
            nn.ModuleDict({m: auxiliary_head(model, m, generator) for m in self.modalities}) if heads == "separate" else None
        )
        self._means = EpochMeans()

    def parameters(self) -> Iterator[nn.Parameter]:
        return iter(()) if self.heads is None else self.heads.parameters()

    def loss(self, loss: Tensor, output: ModelOutput, batch: Batch, *, reduce: Reduce, epoch: int) -> Tensor:
        logits = output.per_modality if self.heads is None else {m: self.heads[m](output.features[m]) for m in self.modalities}
        unimodal = unimodal_losses(logits, batch.labels, self.modalities, reduce, class_weights=self.class_weights)
        for m, value in unimodal.items():
            self._means.add("aux_loss", m, value)
            self._means.add("aux_weight", m, self.weight)
        return loss + self.weight * torch.stack(list(unimodal.values())).sum()

    def epoch_rows(self) -> dict[tuple[str, str], Tensor | float]:
        return self._means.rows()


def __getattr__(name: str) -> object:
    # published defaults: moved to the config layer, which checks a run's settings (issue 26)
    if name in ("UNI_AUX_WEIGHT",):
        return moved(__name__, name, ("spcl_diag.config.balancing",))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
