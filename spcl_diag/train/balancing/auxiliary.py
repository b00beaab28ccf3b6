r"""Unimodal heads trained as classifiers: auxiliary cross-entropy (``uni-aux``) and Gradient-Blending.

Both methods add the cross-entropy of each modality's head to the training objective, which
trains every head as a unimodal classifier; they need *pure* heads (see
:func:`spcl_diag.runs.config.balancing_problem`). The per-utterance losses go through the
curriculum's ``reduce`` (:mod:`spcl_diag.train.balancing.base`), so under SPCL the auxiliary
terms see the same utterances as the joint loss.

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
* ``g-blending`` (:class:`GradientBlending`, Wang, Tran and Feiszli 2020):
  :math:`\mathcal L = \sum_k w_k \mathcal L_k` over the heads :math:`k \in \{\text{joint}\} \cup S`,
  with weights from the overfitting-to-generalisation ratio (:func:`blending_weights`),
  re-estimated every ``super_epoch`` epochs (the paper's online G-Blend).

References
----------
.. [1] Wang, Tran, Feiszli. "What Makes Training Multi-Modal Classification Networks Hard?"
   CVPR 2020 (Gradient-Blending).
.. [2] Wei, Hu. "MMPareto: Boosting Multimodal Learning with Innocent Unimodal Assistance."
   ICML 2024.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from spcl_diag.data.batching import Batch
from spcl_diag.metrics.classification import cross_entropy
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.train.balancing.base import (
    Balancer,
    EpochMeans,
    EpochProbs,
    Reduce,
    classifier,
    unimodal_losses,
)

UNI_AUX_WEIGHT = 1.0  # MMPareto_ICML2024's uni-modal assistance: the unimodal losses added with weight 1
UNI_AUX_HEADS: tuple[str, ...] = ("separate", "shared")
G_BLENDING_SUPER_EPOCH = 2  # epochs between weight re-estimates


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


def blending_weights(
    train_before: Mapping[str, float],
    dev_before: Mapping[str, float],
    train_after: Mapping[str, float],
    dev_after: Mapping[str, float],
) -> dict[str, float] | None:
    r"""Gradient-Blending weights of each head from its losses at two checkpoints.

    With :math:`L^T` the training loss and :math:`L^V` the held-out loss of head :math:`k` at
    the start (:math:`n`) and the end (:math:`n + \Delta`) of a super-epoch, the overfitting
    is :math:`O = L^V - L^T` and (paper, eq. 6-7)

    .. math::
        \Delta G_k = L^V_{k,n} - L^V_{k,n+\Delta}, \qquad
        \Delta O_k = O_{k,n+\Delta} - O_{k,n}, \qquad
        w_k = \frac{1}{Z} \frac{\Delta G_k}{\Delta O_k^2}, \quad \sum_k w_k = 1.

    A head whose held-out loss did not fall (:math:`\Delta G_k \le 0`) gets weight 0, and
    :math:`\Delta O_k^2` is floored at :math:`10^{-12}` (both unstated in the paper).

    Returns
    -------
    dict or None
        Head -> weight, or ``None`` when no head generalised better (every
        :math:`\Delta G \le 0`): the caller keeps its weights.

    Examples
    --------
    >>> w = blending_weights({"joint": 1.0, "t": 1.2}, {"joint": 1.4, "t": 1.5},
    ...                      {"joint": 0.6, "t": 1.0}, {"joint": 1.2, "t": 1.4})
    >>> {k: round(v, 3) for k, v in w.items()}
    {'joint': 0.333, 't': 0.667}
    """
    raw = {}
    for k in train_before:
        gain = dev_before[k] - dev_after[k]
        overfit = (dev_after[k] - train_after[k]) - (dev_before[k] - train_before[k])
        raw[k] = max(gain, 0.0) / max(overfit**2, 1e-12)
    total = sum(raw.values())
    if not np.isfinite(total) or total <= 0:
        return None
    return {k: v / total for k, v in raw.items()}


class GradientBlending(Balancer):
    r"""``g-blending``: :math:`\sum_k w_k \mathcal L_k` over the joint head and each modality's head.

    The weights start uniform, :math:`w_k = 1 / (M + 1)`. Checkpoints are taken at the end of
    epoch index 0 and then every ``super_epoch`` epochs; at each checkpoint after the first
    the weights are re-estimated by :func:`blending_weights` from the losses at the previous
    checkpoint and now. Logs per epoch ``blend_weight`` for scope ``joint`` and each modality
    (the weights in force during that epoch).

    Departures from Wang et al. (2020): the held-out loss is the run's **dev** split, which
    the loop also uses for model selection (the paper holds out part of the training set);
    the training loss of a head is its mean cross-entropy over the epoch's training batches,
    in training mode, as the loop records it (the paper evaluates the train set); the first
    checkpoint is the end of the first epoch, not initialisation; a head whose held-out loss
    rose gets weight 0 and a super-epoch in which none fell keeps the previous weights. The
    joint head's term is the curriculum's loss (``reduce`` of the joint cross-entropy), so
    SPCL's selection and normalisation apply to every head.
    """

    def __init__(self, modalities: str, *, super_epoch: int, class_weights: Tensor | None = None):
        self.modalities, self.super_epoch, self.class_weights = modalities, super_epoch, class_weights
        self.heads = ("joint", *modalities)
        self.weights = {k: 1.0 / len(self.heads) for k in self.heads}
        self._checkpoint: tuple[dict[str, float], dict[str, float]] | None = None
        self._epoch_weights: dict[str, float] | None = None

    def loss(self, loss: Tensor, output: ModelOutput, batch: Batch, *, reduce: Reduce, epoch: int) -> Tensor:
        unimodal = unimodal_losses(output.per_modality, batch.labels, self.modalities, reduce, class_weights=self.class_weights)
        self._epoch_weights = dict(self.weights)
        return self.weights["joint"] * loss + sum(self.weights[m] * unimodal[m] for m in self.modalities)

    def epoch_rows(self) -> dict[tuple[str, str], Tensor | float]:
        if self._epoch_weights is None:
            return {}
        rows: dict[tuple[str, str], Tensor | float] = {("blend_weight", k): w for k, w in self._epoch_weights.items()}
        self._epoch_weights = None
        return rows

    def epoch_end(self, epoch: int, probs: EpochProbs) -> None:
        if epoch % self.super_epoch:
            return
        losses = tuple(
            {k: cross_entropy(np.asarray(scope_probs[k]), labels) for k in self.heads}
            for scope_probs, labels in (probs["train"], probs["dev"])
        )
        train_now, dev_now = losses
        if self._checkpoint is not None:
            weights = blending_weights(*self._checkpoint, train_now, dev_now)
            if weights is not None:
                self.weights = weights
        self._checkpoint = (train_now, dev_now)
