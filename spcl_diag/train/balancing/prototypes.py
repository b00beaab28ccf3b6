r"""PMR: Prototypical Modal Rebalance (Fan et al., CVPR 2023).

Each modality :math:`m` keeps one prototype per class, the mean of its head's input features
over the training utterances of that class, :math:`c^m_k`. An utterance's prototypical
distribution is the softmax of the negative Euclidean distances to the prototypes,

.. math:: p^m_k(x) = \frac{\exp(-\lVert \phi^m(x) - c^m_k \rVert)}{\sum_j \exp(-\lVert \phi^m(x) - c^m_j \rVert)},

the modality's prototypical score on a batch is :math:`s_m = \sum_i p^m_{y_i}(x_i)` and its
imbalance ratio :math:`\rho_m = s_m / (\frac{1}{M-1}\sum_{k \ne m} s_k)` (the paper's
:math:`\rho = s_a / s_v` for two modalities, generalised to :math:`M` as for OGM-GE). The loss
(:func:`pmr_coefficients`) is

.. math::
    \mathcal L = \mathcal L_{\text{joint}} + \sum_m \beta_m \mathcal L_{PCE}^m - \sum_m \gamma_m \bar H(p^m),
    \qquad \mathcal L_{PCE}^m = -\log p^m_{y}(x)

with :math:`\beta_m = \alpha (1/\rho_m - 1)` for a slow modality (:math:`\rho_m < 1`, else 0):
the prototypical cross-entropy accelerates it; and :math:`\gamma_m = \alpha (\rho_m - 1)` for a
dominant one (:math:`\rho_m > 1`, else 0): rewarding the entropy :math:`\bar H` of its
prototypical distribution restrains it. Both terms use the curriculum's ``reduce``.

Departures from Fan et al. (2023), stated here because the paper leaves them open or we
chose otherwise: the coefficient shapes :math:`\alpha(1/\rho - 1)` and :math:`\alpha(\rho - 1)`
are ours (the paper gives the sides and that the strength grows with the imbalance);
prototypes are the class means of the features seen during the **previous** training epoch
(train mode, no extra pass over the data; the paper recomputes them on the training set) and a
class absent from that epoch keeps its older prototype (zeros at first); with no prototypes
yet (epoch index 0) and outside ``[start_epoch, end_epoch)`` the terms are off. ``features[m]``
of the backbone is the representation :math:`\phi^m` (the input of head :math:`m`), which
needs pure heads.

Logged per epoch: ``pmr_beta``, ``pmr_gamma`` and ``prototype_ratio_batch`` (means over batches).

References
----------
.. [1] Fan, Xu, Wei, Hu, Huang. "PMR: Prototypical Modal Rebalance for Multimodal Learning."
   CVPR 2023.
"""

from __future__ import annotations

import torch
from torch import Tensor

from spcl_diag.data.batching import Batch
from spcl_diag.models.base import ModelOutput
from spcl_diag.train.balancing.base import Balancer, EpochMeans, EpochProbs, Reduce, in_window

PMR_ALPHA = 1.0  # strength of both terms
PMR_START_EPOCH = 1  # the first epoch with prototypes (index 0 collects them)


def prototype_log_probs(features: Tensor, prototypes: Tensor) -> Tensor:
    r"""``[N, C]`` log-softmax of :math:`-\lVert \phi(x) - c_k \rVert` over the ``[C, h]`` prototypes.

    Examples
    --------
    >>> prototype_log_probs(torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 0.0], [3.0, 4.0]])).exp()
    tensor([[0.9933, 0.0067]])
    """
    return (-torch.cdist(features, prototypes)).log_softmax(-1)


def pmr_coefficients(scores: Tensor, *, alpha: float) -> tuple[Tensor, Tensor, Tensor]:
    r"""Imbalance ratios :math:`\rho`, PCE weights :math:`\beta` and entropy weights :math:`\gamma`.

    .. math::
        \rho_m = \frac{s_m}{\frac{1}{M-1}\sum_{k \ne m} s_k}, \qquad
        \beta_m = \alpha \max(0, 1/\rho_m - 1), \qquad \gamma_m = \alpha \max(0, \rho_m - 1)

    Examples
    --------
    >>> rho, beta, gamma = pmr_coefficients(torch.tensor([6.0, 2.0]), alpha=0.5)
    >>> rho, beta, gamma
    (tensor([3.0000, 0.3333]), tensor([0., 1.]), tensor([1., 0.]))
    """
    M = scores.shape[0]
    others = (scores.sum() - scores) / (M - 1)
    tiny = torch.finfo(scores.dtype).tiny
    ratio = scores / others.clamp_min(tiny)
    beta = alpha * (1 / ratio.clamp_min(tiny) - 1).clamp_min(0)
    gamma = alpha * (ratio - 1).clamp_min(0)
    return ratio, beta, gamma


class PrototypicalRebalance(Balancer):
    """``pmr``; see the module docstring."""

    def __init__(self, modalities: str, n_classes: int, *, alpha: float, start_epoch: int, end_epoch: int | None):
        self.modalities, self.n_classes = modalities, n_classes
        self.alpha, self.start_epoch, self.end_epoch = alpha, start_epoch, end_epoch
        self.prototypes: dict[str, Tensor] = {}  # m -> [C, h], from the previous epoch
        self._sums: dict[str, Tensor] = {}  # m -> [C, h] feature sums of this epoch
        self._counts: Tensor | None = None  # [C]
        self._means = EpochMeans()

    def loss(self, loss: Tensor, output: ModelOutput, batch: Batch, *, reduce: Reduce, epoch: int) -> Tensor:
        labels = batch.labels
        self._collect(output, labels)
        if not self.prototypes or not in_window(epoch, self.start_epoch, self.end_epoch):
            for m in self.modalities:
                self._means.add("pmr_beta", m, 0.0)
                self._means.add("pmr_gamma", m, 0.0)
            return loss
        log_p = {m: prototype_log_probs(output.features[m], self.prototypes[m]) for m in self.modalities}
        gold = {m: lp.gather(1, labels.unsqueeze(1)).squeeze(1) for m, lp in log_p.items()}  # [N]
        scores = torch.stack([gold[m].detach().exp().sum() for m in self.modalities])
        ratio, beta, gamma = pmr_coefficients(scores, alpha=self.alpha)
        for i, m in enumerate(self.modalities):
            entropy = -(log_p[m].exp() * log_p[m]).sum(-1)  # [N]
            loss = loss + beta[i] * reduce(-gold[m]) - gamma[i] * reduce(entropy)
            self._means.add("pmr_beta", m, beta[i])
            self._means.add("pmr_gamma", m, gamma[i])
            self._means.add("prototype_ratio_batch", m, ratio[i])
        return loss

    def _collect(self, output: ModelOutput, labels: Tensor) -> None:
        with torch.no_grad():
            one_hot = torch.nn.functional.one_hot(labels, self.n_classes).to(output.joint.dtype)  # [N, C]
            counts = one_hot.sum(0)
            self._counts = counts if self._counts is None else self._counts + counts
            for m in self.modalities:
                sums = one_hot.T @ output.features[m].detach()  # [C, h]
                self._sums[m] = sums if m not in self._sums else self._sums[m] + sums

    def epoch_rows(self) -> dict[tuple[str, str], Tensor | float]:
        return self._means.rows()

    def epoch_end(self, epoch: int, probs: EpochProbs) -> None:
        if self._counts is None:
            return
        seen = (self._counts > 0).unsqueeze(1)  # [C, 1]
        for m in self.modalities:
            means = self._sums[m] / self._counts.clamp_min(1).unsqueeze(1)
            previous = self.prototypes.get(m, torch.zeros_like(means))
            self.prototypes[m] = torch.where(seen, means, previous)
        self._sums, self._counts = {}, None
