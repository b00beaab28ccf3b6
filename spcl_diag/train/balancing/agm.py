r"""AGM: Adaptive Gradient Modulation (Li et al., ICCV 2023).

AGM measures each modality by its *mono-modal response*, the Shapley value of the modality in
the joint logits, obtained by masking modalities (:func:`shapley_responses`):

.. math::
    \phi_m = \sum_{S \subseteq \mathcal M \setminus \{m\}} \frac{|S|!\,(M - |S| - 1)!}{M!}
             \bigl(f(S \cup \{m\}) - f(S)\bigr),

with :math:`f(S)` the joint logits when the raw input features of the modalities outside
:math:`S` are zero, as the reference does (lihong2303/AGM_ICCV2023, ``model/CREMAD_net.py``
zeroes the audio or visual *input* before the encoders). ``coalition="zero"`` (default) scores
the empty coalition as :math:`f(\emptyset) = 0`, as the authors' code does (for two modalities
its response is :math:`\tfrac12(f(\{a,v\}) - f(\{a\}) + f(\{v\}))`), so each response is the
exact Shapley value plus :math:`f(\emptyset)/M`; ``coalition="shapley"`` gives the exact values.

Because it needs only the joint output, AGM works on backbones whose
heads are mixed (MMGCN, MM-DFN, Ada2I) as well as on pure ones. Per batch, the mono-modal
score is the mean cross-entropy :math:`s_m = -\frac{1}{N}\sum_i \log \mathrm{softmax}(\phi_{m,i})_{y_i}`
(probabilities floored at :math:`10^{-8}`, as in the reference code), and
(:func:`agm_coefficients`)

.. math::
    r_m = \exp\Bigl(\frac{1}{M-1}\sum_{k \ne m} s_k - s_m\Bigr), \qquad
    \bar r_m = \exp\Bigl(\frac{1}{M-1}\sum_{k \ne m} \bar s_k - \bar s_m\Bigr), \qquad
    k_m = \exp\bigl(\alpha \min(\bar r_m - r_m, 10)\bigr),

where :math:`\bar s_m` is the running mean of :math:`s_m` over every step so far (before this
step's update). For two modalities :math:`r_a = \exp(s_v - s_a)`, the paper's
:math:`\exp(2(\bar s - s_a))`; for three it is the authors' UR-Funny rule
:math:`\exp(\tfrac32(\bar s - s_m))` (``run/URFunny_main.py``), :math:`\bar s` the mean over the
modalities. The exponent is capped at 10 as in the authors' CREMA-D code (``run/CREMAD_main.py``;
their UR-Funny code caps at 7): uncapped, :math:`k` can reach about :math:`5 \cdot 10^8` and
overflow the global clip into NaN. A modality that is currently more dominant than its running
level (:math:`r_m > \bar r_m`) is slowed (:math:`k_m < 1`), one that lags is sped up
(:math:`k_m > 1`). The gradient of every parameter of modality :math:`m`'s branch is multiplied
by :math:`k_m` before the gradient-norm clip (in the reference the scale acts inside the
backward pass, and the clip follows).

Departures from Li et al. (2023): the :math:`2^M` masked forward passes run in eval mode
without gradient (no dropout, so they draw no random numbers and the run stays paired with
its ``none`` twin); the coefficient scales the branch's parameter gradients rather than the
gradient through its features; the running mean starts at the first step (the reference
carries the previous epoch's value, which is the same thing). Outside ``[start_epoch, end_epoch)``
:math:`k = 1` is logged and nothing is scaled, but the running means keep updating.

Logged per epoch: ``modulation`` (mean :math:`k_m`) and ``mono_loss_batch`` (mean :math:`s_m`).

References
----------
.. [1] Li, Li, Hu, Lei, Li, Zhou. "Boosting Multi-modal Model Performance with Adaptive
   Gradient Modulation." ICCV 2023.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import torch
from torch import Tensor

from spcl_diag._deprecation import moved
from spcl_diag.data.batching import Batch
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.train.balancing.base import Balancer, EpochMeans, in_window

AGM_CAP = 10.0  # the authors' CREMA-D code: exp(alpha * min(r_bar - r, 10))
AGM_COALITIONS: tuple[str, ...] = ("zero", "shapley")


def shapley_responses(model: Backbone, batch: Batch, *, coalition: str = "shapley") -> dict[str, Tensor]:
    """Modality -> ``[N, C]`` mono-modal response of the joint logits (eval mode, no gradient).

    ``coalition="shapley"``: exact Shapley values; ``"zero"``: the empty coalition scores 0
    (the authors' code), which adds :math:`f(\\emptyset)/M` to every response.
    """
    mods = model.modalities
    M = len(mods)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        joint = {}
        for size in range(M + 1):
            for subset in itertools.combinations(mods, size):
                features = {m: x if m in subset else torch.zeros_like(x) for m, x in batch.features.items()}
                joint[frozenset(subset)] = model(dataclasses.replace(batch, features=features)).joint
    model.train(was_training)
    if coalition == "zero":
        joint[frozenset()] = torch.zeros_like(joint[frozenset()])
    responses = {}
    for m in mods:
        others = [o for o in mods if o != m]
        total = torch.zeros_like(joint[frozenset(mods)])
        for size in range(M):
            weight = math.factorial(size) * math.factorial(M - size - 1) / math.factorial(M)
            for subset in itertools.combinations(others, size):
                total += weight * (joint[frozenset((*subset, m))] - joint[frozenset(subset)])
        responses[m] = total
    return responses


def mono_scores(responses: dict[str, Tensor], labels: Tensor) -> Tensor:
    """``[M]`` mean cross-entropy of each response, probabilities floored at 1e-8."""
    return torch.stack([
        -z.softmax(-1).gather(1, labels.unsqueeze(1)).clamp_min(1e-8).log().mean() for z in responses.values()
    ])


def agm_coefficients(
    scores: Tensor, running: Tensor, *, alpha: float, cap: float | None = AGM_CAP
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Ratios :math:`r`, running ratios :math:`\bar r` and coefficients :math:`k = e^{\alpha \min(\bar r - r, \text{cap})}`.

    Parameters
    ----------
    scores, running
        ``[M]`` this batch's mono-modal cross-entropies :math:`s_m` and their running means.
    alpha
        Modulation strength.
    cap
        Upper bound of the exponent's :math:`\bar r - r` (``None``: uncapped).

    Examples
    --------
    >>> r, r_bar, k = agm_coefficients(torch.tensor([0.5, 1.5]), torch.tensor([1.0, 1.0]), alpha=1.0)
    >>> r, r_bar, k
    (tensor([2.7183, 0.3679]), tensor([1., 1.]), tensor([0.1794, 1.8816]))
    """
    M = scores.shape[0]

    def ratio(s: Tensor) -> Tensor:
        return torch.exp((s.sum() - s) / (M - 1) - s)

    r, r_bar = ratio(scores), ratio(running)
    gap = r_bar - r if cap is None else (r_bar - r).clamp_max(cap)
    return r, r_bar, torch.exp(alpha * gap)


class AdaptiveGradientModulation(Balancer):
    """``agm``; see the module docstring."""

    def __init__(self, model: Backbone, *, alpha: float, start_epoch: int, end_epoch: int | None, coalition: str):
        self.modalities = model.modalities
        groups = model.parameter_groups()
        self.params = {m: groups[m] for m in self.modalities}
        self.alpha, self.start_epoch, self.end_epoch, self.coalition = alpha, start_epoch, end_epoch, coalition
        self._running: Tensor | None = None
        self._steps = 0
        self._means = EpochMeans()

    def before_clip(self, model: Backbone, output: ModelOutput, batch: Batch, *, epoch: int) -> None:
        scores = mono_scores(shapley_responses(model, batch, coalition=self.coalition), batch.labels)
        running = scores if self._running is None else self._running
        _, _, k = agm_coefficients(scores, running, alpha=self.alpha)
        self._steps += 1
        self._running = running + (scores - running) / self._steps
        if not in_window(epoch, self.start_epoch, self.end_epoch):
            k = torch.ones_like(k)
        with torch.no_grad():
            for i, m in enumerate(self.modalities):
                self._means.add("modulation", m, k[i])
                self._means.add("mono_loss_batch", m, scores[i])
                for p in self.params[m]:
                    if p.grad is not None:
                        p.grad.mul_(k[i])

    def epoch_rows(self) -> dict[tuple[str, str], Tensor | float]:
        return self._means.rows()


def __getattr__(name: str) -> object:
    # published defaults: moved to the config layer, which checks a run's settings (issue 26)
    if name in ("AGM_ALPHA",):
        return moved(__name__, name, ("spcl_diag.config.balancing",))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
