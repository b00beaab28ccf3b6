r"""MMPareto (Wei and Hu, ICML 2024): multimodal and unimodal gradients combined without conflict.

The objective is the joint loss plus each head's unimodal cross-entropy,
:math:`\mathcal L = \mathcal L_{mm} + \sum_m \mathcal L_m` (both through the curriculum's
``reduce``). On the parameters :math:`\theta_m` of modality :math:`m`'s branch, which both
:math:`\mathcal L_{mm}` and :math:`\mathcal L_m` train, let :math:`g_{mm}` and :math:`g_u` be the
two gradients. Then (:func:`pareto_weights`, :func:`pareto_gradient`)

.. math::
    (\alpha_{mm}, \alpha_u) = \begin{cases} (\tfrac12, \tfrac12) & \cos(g_{mm}, g_u) > 0 \\
    \arg\min_{\alpha_{mm} + \alpha_u = 1,\ \alpha \ge 0} \lVert \alpha_{mm} g_{mm} + \alpha_u g_u \rVert^2
    & \text{otherwise (MGDA, min-norm)} \end{cases}

    \tilde g = 2(\alpha_{mm} g_{mm} + \alpha_u g_u), \qquad
    g = \gamma \, \max\Bigl(1, \frac{\lVert g_{mm} + g_u \rVert}{\lVert \tilde g \rVert}\Bigr) \tilde g,

so the combined gradient is at least as long as the plain sum (the paper's magnitude
rescaling, which keeps the unimodal assistance from shrinking the step), times
:math:`\gamma` (1.5 in the authors' scripts). The min-norm weight of two vectors has the
closed form :math:`\alpha_{mm} = \mathrm{clip}\bigl(\frac{(g_u - g_{mm}) \cdot g_u}{\lVert g_{mm} - g_u \rVert^2}, 0, 1\bigr)`.

The unimodal gradients come from one extra ``autograd.grad`` of :math:`\sum_m \mathcal L_m`
over the branch parameters inside :meth:`MMPareto.loss` (with pure heads, :math:`\mathcal L_m`
reaches only branch :math:`m`), and :math:`g_{mm}` is what the loop's backward adds on top.
Parameters outside the branches (none for pure-head backbones) keep the summed gradient.

Departures from Wei and Hu (2024): the cosine and the weights are computed on the whole
branch including its head (here the head of modality :math:`m` feeds both the joint sum and
the unimodal loss; the authors exclude separate unimodal heads), the rescaling is per
parameter tensor as in the authors' code; the combination runs before the loop's global
gradient-norm clip, so the clip bounds the final step; the backbone's auxiliary loss (if any)
is part of :math:`g_{mm}`.

Logged per epoch: ``pareto_cosine`` (mean :math:`\cos(g_{mm}, g_u)`), ``pareto_conflict``
(share of steps with :math:`\cos \le 0`), ``pareto_weight_unimodal`` (mean :math:`\alpha_u`) and
``pareto_grad_ratio`` (mean :math:`\lVert g_u \rVert / \lVert g_{mm} \rVert`: how much unimodal
assistance a branch receives; largest for the weak modality, whose own head is furthest from
its labels while the joint gradient reaching every head of a summed fusion is the same).

References
----------
.. [1] Wei, Hu. "MMPareto: Boosting Multimodal Learning with Innocent Unimodal Assistance."
   ICML 2024.
.. [2] Sener, Koltun. "Multi-Task Learning as Multi-Objective Optimization." NeurIPS 2018 (MGDA).
"""

from __future__ import annotations

import torch
from torch import Tensor

from spcl_diag._deprecation import moved
from spcl_diag.data.batching import Batch
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.train.balancing.base import Balancer, EpochMeans, Reduce, unimodal_losses


def pareto_weights(g_mm: Tensor, g_u: Tensor) -> tuple[Tensor, Tensor]:
    r"""``(alpha_mm, alpha_u)`` and the cosine: 1/2 each when the gradients agree, else min-norm.

    Returns
    -------
    tuple of Tensor
        ``[2]`` weights :math:`(\alpha_{mm}, \alpha_u)` and the scalar cosine.

    Examples
    --------
    >>> pareto_weights(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0]))
    (tensor([0.5000, 0.5000]), tensor(0.7071))
    >>> pareto_weights(torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 1.0]))[0]
    tensor([0.4000, 0.6000])
    """
    cosine = torch.nn.functional.cosine_similarity(g_mm, g_u, dim=0, eps=1e-12)
    if cosine > 0:
        return torch.tensor([0.5, 0.5], dtype=g_mm.dtype, device=g_mm.device), cosine
    diff = g_mm - g_u
    alpha = ((g_u - g_mm) @ g_u / (diff @ diff).clamp_min(1e-20)).clamp(0, 1)
    return torch.stack([alpha, 1 - alpha]), cosine


def pareto_gradient(g_mm: Tensor, g_u: Tensor, weights: Tensor, *, gamma: float) -> Tensor:
    r""":math:`\gamma \max(1, \lVert g_{mm} + g_u \rVert / \lVert \tilde g \rVert)\, \tilde g` with :math:`\tilde g = 2(\alpha_{mm} g_{mm} + \alpha_u g_u)`.

    Examples
    --------
    >>> pareto_gradient(torch.tensor([2.0, 0.0]), torch.tensor([0.0, 2.0]), torch.tensor([0.5, 0.5]), gamma=1.0)
    tensor([2., 2.])
    """
    combined = 2 * (weights[0] * g_mm + weights[1] * g_u)
    norm = torch.linalg.vector_norm(combined)
    scale = (torch.linalg.vector_norm(g_mm + g_u) / norm.clamp_min(1e-20)).clamp_min(1)
    return gamma * torch.where(norm > 0, scale, torch.ones_like(scale)) * combined


class MMPareto(Balancer):
    """``mmpareto``; see the module docstring."""

    def __init__(self, model: Backbone, *, gamma: float, class_weights: Tensor | None = None):
        self.modalities, self.gamma, self.class_weights = model.modalities, gamma, class_weights
        groups = model.parameter_groups()
        self.params = {m: groups[m] for m in self.modalities}
        self._unimodal: dict[str, list[Tensor]] = {}
        self._means = EpochMeans()

    def loss(self, loss: Tensor, output: ModelOutput, batch: Batch, *, reduce: Reduce, epoch: int) -> Tensor:
        unimodal = torch.stack(list(unimodal_losses(output.per_modality, batch.labels, self.modalities, reduce, class_weights=self.class_weights).values())).sum()
        flat = [p for m in self.modalities for p in self.params[m]]
        raw = torch.autograd.grad(unimodal, flat, retain_graph=True, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(flat, raw)]
        self._unimodal, start = {}, 0
        for m in self.modalities:
            self._unimodal[m] = grads[start:start + len(self.params[m])]
            start += len(self.params[m])
        return loss + unimodal

    def before_clip(self, model: Backbone, output: ModelOutput, batch: Batch, *, epoch: int) -> None:
        with torch.no_grad():
            for m in self.modalities:
                params, g_u = self.params[m], self._unimodal[m]
                total = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
                g_mm = [t - u for t, u in zip(total, g_u)]
                flat_mm, flat_u = torch.cat([g.reshape(-1) for g in g_mm]), torch.cat([g.reshape(-1) for g in g_u])
                weights, cosine = pareto_weights(flat_mm, flat_u)
                ratio = torch.linalg.vector_norm(flat_u) / torch.linalg.vector_norm(flat_mm).clamp_min(1e-20)
                self._means.add("pareto_grad_ratio", m, ratio)
                for p, mm, u in zip(params, g_mm, g_u):
                    if p.grad is not None:  # a parameter the step did not reach keeps no gradient
                        p.grad = pareto_gradient(mm, u, weights, gamma=self.gamma)
                self._means.add("pareto_cosine", m, cosine)
                self._means.add("pareto_conflict", m, (cosine <= 0).to(cosine.dtype))
                self._means.add("pareto_weight_unimodal", m, weights[1])
        self._unimodal = {}

    def epoch_rows(self) -> dict[tuple[str, str], Tensor | float]:
        return self._means.rows()


def __getattr__(name: str) -> object:
    # published defaults: moved to the config layer, which checks a run's settings (issue 26)
    if name in ("MMPARETO_GAMMA",):
        return moved(__name__, name, ("spcl_diag.config.balancing",))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
