r"""PMR: Prototypical Modal Rebalance (Fan et al., CVPR 2023).

Each modality :math:`m` keeps one prototype per class :math:`c^m_k`, the mean of its head's
input features :math:`\phi^m(x)` (``ModelOutput.features[m]``) over training utterances of class
:math:`k`. An utterance's prototypical distribution is the softmax of the negative Euclidean
distances to the prototypes (paper, Eq. 5),

.. math:: p^m_k(x) = \frac{\exp(-\lVert \phi^m(x) - c^m_k \rVert)}{\sum_j \exp(-\lVert \phi^m(x) - c^m_j \rVert)},

the modality's prototypical score on a batch is :math:`s_m = \sum_i p^m_{y_i}(x_i)` and its
imbalance ratio :math:`\rho_m = s_m / (\frac{1}{M-1}\sum_{k \ne m} s_k)` (the paper's
:math:`\rho = s^0 / s^1` for two modalities, and its inverse for the other one).

Variant ``"paper"`` (default; Eq. 10-13 and Algorithm 1, :func:`pmr_coefficients`):

.. math::
    \mathcal L = \mathcal L_{\text{joint}} + \alpha \sum_m \beta_m \mathcal L_{PCE}^m
                 - \mu \sum_m \gamma_m \bar H(p^m) \,[\text{epoch} < E_r],
    \qquad \beta_m = \mathrm{clip}(1/\rho_m - 1, 0, 1), \quad \gamma_m = \mathrm{clip}(\rho_m - 1, 0, 1),

with :math:`\mathcal L_{PCE}^m = -\log p^m_y(x)`. For two modalities this is exactly Eq. 10-13:
the slow modality (:math:`\rho_m < 1`) gets the prototypical cross-entropy with the paper's
:math:`\beta` (resp. :math:`\gamma`), and the dominant one's prototypical entropy is rewarded
with the same coefficient for the first :math:`E_r` epochs only. Variant ``"code"`` is the
authors' public code (fanyunfeng-bit/Modal-Imbalance-PMR, ``main_Prototype_grad.py``): a flat
:math:`\alpha` on the slow modality's PCE (:math:`\beta_m = 1` where :math:`\rho_m < 1`) and no
entropy term. The paper's tables (Table 1-3) were reported for the method of Eq. 10-13; the
public scripts (``bash.sh``) run the ``code`` form.

Prototypes (Eq. 12, :meth:`PrototypicalRebalance.epoch_start`): before every epoch, in eval mode
and without gradient, the class means of :math:`\phi^m` over a random 10% of the training
dialogues (the reference: the first tenth of a shuffled training loader), then a moving average
:math:`c \leftarrow (1 - \eta) \bar\phi + \eta c` with :math:`\eta` = ``momentum`` (0.2, the
authors' ``--momentum_coef``); at epoch index 0 the fresh means. A class absent from the subset
keeps its previous prototype (zeros at first; the reference divides by zero). The subset is
drawn from the run's balancing seed, and the eval pass draws no random numbers, so the run
stays paired with its ``none`` twin.

Defaults and their sources: ``alpha`` 1.0 (the authors' ``--alpha`` default); ``mu`` 1e-2 (the
paper uses 1e-2 or 1e-3); ``entropy_epochs`` :math:`E_r` = half the run's epochs (the paper sets
:math:`E_r` per dataset and gives no rule: our choice, like OGM-GE's window); the PCE acts from
epoch index 0 with no end (Algorithm 1). Under ``train.class_weights = "balanced"`` the PCE
carries the joint loss's class weights; the entropy is not a cross-entropy and is unweighted.
Both terms use the curriculum's ``reduce``. ``features[m]`` must be the input of a pure head.

Logged per epoch: ``pmr_beta``, ``pmr_gamma`` (the unscaled coefficients; ``pmr_gamma`` 0 once
the entropy term is off) and ``prototype_ratio_batch`` (means over batches).

References
----------
.. [1] Fan, Xu, Wei, Hu, Huang. "PMR: Prototypical Modal Rebalance for Multimodal Learning."
   CVPR 2023. Code: https://github.com/fanyunfeng-bit/Modal-Imbalance-PMR
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from spcl_diag._deprecation import moved
from spcl_diag.data.batching import Batch, DeviceSplit
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.train.balancing.base import Balancer, EpochMeans, Reduce, in_window

PMR_SUBSET = 0.1  # paper and code: prototypes from a tenth of the training set
PMR_VARIANTS: tuple[str, ...] = ("paper", "code")
_PROTOTYPE_BATCH = 64  # dialogues per batch of the prototype pass (no effect on the means)


def prototype_log_probs(features: Tensor, prototypes: Tensor) -> Tensor:
    r"""``[N, C]`` log-softmax of :math:`-\lVert \phi(x) - c_k \rVert` over the ``[C, h]`` prototypes.

    Examples
    --------
    >>> prototype_log_probs(torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 0.0], [3.0, 4.0]])).exp()
    tensor([[0.9933, 0.0067]])
    """
    return (-torch.cdist(features, prototypes)).log_softmax(-1)


def pmr_coefficients(scores: Tensor, *, variant: str = "paper") -> tuple[Tensor, Tensor, Tensor]:
    r"""Imbalance ratios :math:`\rho`, PCE coefficients :math:`\beta` and entropy coefficients :math:`\gamma`.

    .. math::
        \rho_m = \frac{s_m}{\frac{1}{M-1}\sum_{k \ne m} s_k}, \qquad
        \beta_m = \mathrm{clip}(1/\rho_m - 1, 0, 1), \qquad \gamma_m = \mathrm{clip}(\rho_m - 1, 0, 1)

    (paper, Eq. 11). ``variant="code"``: :math:`\beta_m = [\rho_m < 1]`, :math:`\gamma = 0`.

    Examples
    --------
    >>> rho, beta, gamma = pmr_coefficients(torch.tensor([6.0, 2.0]))
    >>> rho, beta, gamma
    (tensor([3.0000, 0.3333]), tensor([0., 1.]), tensor([1., 0.]))
    >>> pmr_coefficients(torch.tensor([1.5, 1.0]))[1:]
    (tensor([0.0000, 0.5000]), tensor([0.5000, 0.0000]))
    """
    M = scores.shape[0]
    others = (scores.sum() - scores) / (M - 1)
    tiny = torch.finfo(scores.dtype).tiny
    ratio = scores / others.clamp_min(tiny)
    if variant == "code":
        return ratio, (ratio < 1).to(scores.dtype), torch.zeros_like(ratio)
    beta = (1 / ratio.clamp_min(tiny) - 1).clamp(0, 1)
    gamma = (ratio - 1).clamp(0, 1)
    return ratio, beta, gamma


class PrototypicalRebalance(Balancer):
    """``pmr``; see the module docstring.

    Parameters
    ----------
    modalities, n_classes
        The active modalities and the number of classes.
    alpha, mu
        Weights of the PCE and the entropy terms.
    variant
        ``"paper"`` or ``"code"``.
    start_epoch, end_epoch
        0-based window of the PCE term (``end_epoch=None``: no end).
    entropy_epochs
        :math:`E_r`: the entropy term acts in epochs ``[0, entropy_epochs)`` (variant ``paper``).
    momentum
        Share :math:`\\eta` of the previous prototype in the moving average.
    seed
        Seed of the generator that draws each epoch's prototype subset.
    class_weights
        ``[C]`` class weights of the joint loss, or ``None``.
    """

    def __init__(
        self, modalities: str, n_classes: int, *, alpha: float, mu: float, variant: str, start_epoch: int,
        end_epoch: int | None, entropy_epochs: int, momentum: float, seed: int, class_weights: Tensor | None = None,
    ):
        self.modalities, self.n_classes = modalities, n_classes
        self.alpha, self.mu, self.variant = alpha, mu, variant
        self.start_epoch, self.end_epoch, self.entropy_epochs = start_epoch, end_epoch, entropy_epochs
        self.momentum, self.class_weights = momentum, class_weights
        self.rng = np.random.default_rng(seed)
        self.prototypes: dict[str, Tensor] = {}  # m -> [C, h]
        self._means = EpochMeans()

    def epoch_start(self, model: Backbone, train: DeviceSplit, *, epoch: int) -> None:
        n = max(1, round(PMR_SUBSET * train.n_dialogues))
        subset = np.sort(self.rng.choice(train.n_dialogues, size=n, replace=False))
        sums: dict[str, Tensor] = {}
        counts = None
        was_training = model.training
        model.eval()
        with torch.no_grad():
            for batch in train.batches(subset, _PROTOTYPE_BATCH):
                output = model(batch)
                one_hot = F.one_hot(batch.labels, self.n_classes).to(output.joint.dtype)  # [N, C]
                counts = one_hot.sum(0) if counts is None else counts + one_hot.sum(0)
                for m in self.modalities:
                    part = one_hot.T @ output.features[m]  # [C, h]
                    sums[m] = part if m not in sums else sums[m] + part
        model.train(was_training)
        assert counts is not None  # n >= 1 dialogue, and no dialogue is empty
        seen = (counts > 0).unsqueeze(1)  # [C, 1]
        for m in self.modalities:
            fresh = sums[m] / counts.clamp_min(1).unsqueeze(1)
            if m not in self.prototypes:
                self.prototypes[m] = torch.where(seen, fresh, torch.zeros_like(fresh))
            else:
                old = self.prototypes[m]
                self.prototypes[m] = torch.where(seen, (1 - self.momentum) * fresh + self.momentum * old, old)

    def loss(self, loss: Tensor, output: ModelOutput, batch: Batch, *, reduce: Reduce, epoch: int) -> Tensor:
        labels = batch.labels
        log_p = {m: prototype_log_probs(output.features[m], self.prototypes[m]) for m in self.modalities}
        scores = torch.stack([log_p[m].detach().gather(1, labels.unsqueeze(1)).exp().sum() for m in self.modalities])
        ratio, beta, gamma = pmr_coefficients(scores, variant=self.variant)
        if not in_window(epoch, self.start_epoch, self.end_epoch):
            beta = torch.zeros_like(beta)
        if self.variant == "code" or epoch >= self.entropy_epochs:
            gamma = torch.zeros_like(gamma)
        for i, m in enumerate(self.modalities):
            pce = F.nll_loss(log_p[m], labels, weight=self.class_weights, reduction="none")  # [N] w_y (-log p_y)
            entropy = -(log_p[m].exp() * log_p[m]).sum(-1)  # [N]
            loss = loss + self.alpha * beta[i] * reduce(pce) - self.mu * gamma[i] * reduce(entropy)
            self._means.add("pmr_beta", m, beta[i])
            self._means.add("pmr_gamma", m, gamma[i])
            self._means.add("prototype_ratio_batch", m, ratio[i])
        return loss

    def epoch_rows(self) -> dict[tuple[str, str], Tensor | float]:
        return self._means.rows()


def __getattr__(name: str) -> object:
    # published defaults: moved to the config layer, which checks a run's settings (issue 26)
    if name in ("PMR_ALPHA", "PMR_MU", "PMR_MOMENTUM", "PMR_START_EPOCH", "pmr_entropy_epochs"):
        return moved(__name__, name, ("spcl_diag.config.balancing",))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
