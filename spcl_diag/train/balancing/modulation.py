r"""OGM-GE and Ada2I: per-modality gradient scaling after the clip, from gold-class scores.

* ``ogm-ge``: on-the-fly gradient modulation with generalisation enhancement (Peng et al.
  2022), generalised to :math:`M` modalities; see :func:`ogm_ge_coefficients`.
* ``ada2i``: Ada2I's disparity-ratio modulation (Nguyen et al. 2024); see
  :func:`ada2i_coefficients`.

Both modulating methods score each modality per batch by the summed gold-class confidence of
its per-modality logits, computed without gradient (:func:`gold_scores`),

.. math:: s_m = \sum_{i \in \text{batch}} \mathrm{softmax}(z_{m,i})_{y_i},

turn the scores into coefficients :math:`k_m \in (0, 1]`, multiply the gradient of the
modulated parameters of modality :math:`m` by :math:`k_m`, and, with ``noise``, add Gaussian
noise :math:`\mathcal N(0, (\mathrm{std}(g) + 10^{-8})^2)` per parameter tensor :math:`g`.

Which parameters are modulated (:func:`modulated_parameters`, ``balancing_config.scope``):

* ``"encoder"`` (default), as the references do: for OGM-GE the *weight kernels* of the
  modality's encoder, i.e. its parameters of rank :math:`\ge 2` (GeWu-Lab/OGM-GE_CVPR2022,
  ``main.py``, which scales and noises only the 4-d convolution kernels of the audio and
  visual ResNets: never the fusion classifier, even in sum fusion, the exact analogue of
  late fusion's summed heads, and never biases or normalisation parameters); for Ada2I every
  parameter of the modality's encoder (leson502/ADA2I, ``model/ada2i.py`` via
  ``Net.get_encoder_params``), never the AFW attention maps nor the per-modality classifier.
  The encoder is :func:`~spcl_diag.train.balancing.base.encoder_parameters`.
* ``"branch"``: every parameter of ``model.parameter_groups()[m]`` (head, biases, LayerNorm
  and Ada2I's fusion maps included): this project's earlier, stronger form. The noise comes from a ``torch.Generator`` seeded
by the run, so the global random state is untouched and a run is reproducible. They log, per
epoch, the mean over batches of :math:`k_m` (``modulation``; 1 outside the modulation window)
and of the ratio (``discrepancy_ratio_batch`` for OGM-GE, ``disparity_ratio_batch`` for Ada2I).

The scores use the backbone's own per-modality logits (``ModelOutput.per_modality``), so both
methods work on any backbone with per-modality parameter groups. For the ``ada2i`` backbone these
are its cosine logits, as in the Ada2I paper; the reference code (leson502/ADA2I) scores the
un-normalised :math:`Z'_m W_m^\top + b/M` instead. Ada2I's setting is
``backbone="ada2i", balancing="ada2i"``; neither is implied by the other.

References
----------
.. [1] Peng, Wei, Deng, Wang, Hu. "Balanced Multimodal Learning via On-the-fly Gradient
   Modulation." CVPR 2022 (OGM-GE).
.. [2] Nguyen, Le, Nguyen, Le, Nguyen. "Ada2I: Enhancing Modality Balance for Multimodal
   Conversational Emotion Recognition." ACM MM 2024.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from spcl_diag._deprecation import moved
from spcl_diag.data.batching import Batch
from spcl_diag.docstrings import docfiller
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.train.balancing.base import Balancer, encoder_parameters, gold_scores

_fill_doc = docfiller({
    "scores": "scores\n    ``[M]`` gold-class score sums :math:`s_m` (:func:`gold_scores`).",
    "alpha": "alpha\n    Modulation strength :math:`\\alpha \\ge 0`.",
    "coefficients": "tuple of Tensor\n    ``[M]`` ratios :math:`\\rho_m` and ``[M]`` coefficients :math:`k_m`.",
})


@_fill_doc
def ogm_ge_coefficients(scores: Tensor, *, alpha: float) -> tuple[Tensor, Tensor]:
    r"""OGM-GE discrepancy ratios and modulation coefficients for :math:`M` modalities.

    .. math::
        \rho_m = \frac{s_m}{\frac{1}{M-1} \sum_{k \ne m} s_k}, \qquad
        k_m = \begin{cases} 1 - \tanh(\alpha \rho_m) & \rho_m > 1 \\ 1 & \text{otherwise} \end{cases}

    Generalisation to :math:`M` modalities: each modality is compared with the mean score of
    the others. For :math:`M = 2` the ratio is the paper's :math:`\rho = s_1 / s_2` (and its
    inverse for the other modality), so only the dominant modality is slowed. The coefficient
    is the paper's; note that it jumps from 1 to :math:`1 - \tanh(\alpha)` as :math:`\rho_m`
    crosses 1. With one modality :math:`\rho = k = 1`.

    Parameters
    ----------
    %(scores)s
    %(alpha)s

    Returns
    -------
    %(coefficients)s

    Examples
    --------
    >>> ratio, k = ogm_ge_coefficients(torch.tensor([6.0, 2.0, 4.0]), alpha=0.5)
    >>> ratio, k
    (tensor([2.0000, 0.4000, 1.0000]), tensor([0.2384, 1.0000, 1.0000]))
    """
    M = scores.shape[0]
    if M == 1:
        return torch.ones_like(scores), torch.ones_like(scores)
    others = (scores.sum() - scores) / (M - 1)
    ratio = scores / others.clamp_min(torch.finfo(scores.dtype).tiny)
    return ratio, _tanh_coefficient(ratio, alpha)


@_fill_doc
def ada2i_coefficients(scores: Tensor, *, alpha: float) -> tuple[Tensor, Tensor]:
    r"""Ada2I disparity ratios and modulation coefficients.

    .. math::
        \rho_m = \frac{s_m}{\min_k s_k}, \qquad
        k_m = \begin{cases} 1 - \tanh(\alpha \rho_m) & \rho_m > 1 \\ 1 & \text{otherwise} \end{cases}

    Parameters
    ----------
    %(scores)s
    %(alpha)s

    Returns
    -------
    %(coefficients)s

    Examples
    --------
    >>> ratio, k = ada2i_coefficients(torch.tensor([6.0, 2.0, 4.0]), alpha=0.5)
    >>> ratio, k
    (tensor([3., 1., 2.]), tensor([0.0949, 1.0000, 0.2384]))
    """
    ratio = scores / scores.min().clamp_min(torch.finfo(scores.dtype).tiny)
    return ratio, _tanh_coefficient(ratio, alpha)


def _tanh_coefficient(ratio: Tensor, alpha: float) -> Tensor:
    """:math:`k = 1 - \\tanh(\\alpha \\rho)` where :math:`\\rho > 1`, else 1 (OGM-GE and Ada2I alike)."""
    return torch.where(ratio > 1, 1 - torch.tanh(alpha * ratio), torch.ones_like(ratio))


def modulated_parameters(model: Backbone, method: str, scope: str) -> dict[str, list[torch.nn.Parameter]]:
    """Modality -> the parameters whose gradients ``method`` scales and noises (see the module docstring)."""
    if scope == "branch":
        groups = model.parameter_groups()
        return {m: groups[m] for m in model.modalities}
    if method == "ogm-ge":
        return {m: [p for p in encoder_parameters(model, m) if p.dim() >= 2] for m in model.modalities}
    return {m: encoder_parameters(model, m) for m in model.modalities}


class GradientModulation(Balancer):
    """Per-modality gradient scaling by score-based coefficients, then optional Gaussian noise.

    Parameters
    ----------
    params
        Modality -> the parameters to modulate (:func:`modulated_parameters`), or in a stack
        their per-arm views (anything with a ``.grad``); each list must be non-empty.
    method
        ``"ogm-ge"`` or ``"ada2i"``.
    alpha
        Modulation strength.
    start_epoch, end_epoch
        0-based epochs with ``start_epoch <= epoch < end_epoch`` are modulated (``None``: no end).
    noise
        Add the Gaussian gradient noise to every modulated parameter while modulating.
    seed
        Seed of the noise generator.
    """

    def __init__(
        self,
        params: dict[str, list[Any]],
        *,
        method: str,
        alpha: float,
        start_epoch: int,
        end_epoch: int | None,
        noise: bool,
        seed: int,
    ):
        empty = [m for m, group in params.items() if not group]
        if empty:
            raise ValueError(
                f"balancing {method!r} found no parameters to modulate for modality {', '.join(empty)}; "
                "the backbone needs per-modality parameters under branches[m]."
            )
        self.modalities = "".join(params)
        self.params = params
        self.coefficients = ogm_ge_coefficients if method == "ogm-ge" else ada2i_coefficients
        self.ratio_metric = "discrepancy_ratio_batch" if method == "ogm-ge" else "disparity_ratio_batch"
        # OGM-GE's noise scale is the std of the unscaled gradient; Ada2I's of the scaled one.
        self.noise_after_scaling = method == "ada2i"
        self.alpha, self.start_epoch, self.end_epoch = alpha, start_epoch, end_epoch
        self.noise, self.seed = noise, seed
        self._generator: torch.Generator | None = None
        self._sums: dict[str, Tensor] = {}
        self._steps = 0

    def after_clip(self, model: Backbone, output: ModelOutput, batch: Batch, *, epoch: int) -> None:
        scores = gold_scores({m: output.per_modality[m] for m in self.modalities}, batch.labels)
        ratio, k = self.coefficients(scores, alpha=self.alpha)
        active = epoch >= self.start_epoch and (self.end_epoch is None or epoch < self.end_epoch)
        if not active:
            k = torch.ones_like(k)
        self._accumulate(ratio, k)
        if active:
            with torch.no_grad():
                for i, m in enumerate(self.modalities):
                    self._modulate(self.params[m], k[i])

    def _modulate(self, params: list[Any], k: Tensor) -> None:
        for p in params:
            g = p.grad
            if g is None:
                continue
            if self.noise and not self.noise_after_scaling:
                scale = _grad_std(g) + 1e-8
            g.mul_(k)
            if self.noise:
                if self.noise_after_scaling:
                    scale = _grad_std(g) + 1e-8
                g.add_(torch.randn(g.shape, generator=self._noise_generator(g.device), device=g.device, dtype=g.dtype) * scale)

    def _noise_generator(self, device: torch.device) -> torch.Generator:
        if self._generator is None:
            self._generator = torch.Generator(device=device).manual_seed(self.seed)
        return self._generator

    def _accumulate(self, ratio: Tensor, k: Tensor) -> None:
        if not self._sums:
            self._sums = {"ratio": torch.zeros_like(ratio), "k": torch.zeros_like(k)}
        self._sums["ratio"] += ratio
        self._sums["k"] += k
        self._steps += 1

    def epoch_rows(self) -> dict[tuple[str, str], Tensor | float]:
        if not self._steps:
            return {}
        rows: dict[tuple[str, str], Tensor | float] = {}
        for i, m in enumerate(self.modalities):
            rows[("modulation", m)] = self._sums["k"][i] / self._steps
            rows[(self.ratio_metric, m)] = self._sums["ratio"][i] / self._steps
        self._sums, self._steps = {}, 0
        return rows


def _grad_std(g: Tensor) -> Tensor:
    """Standard deviation of a gradient tensor (0 for a single element)."""
    return g.std() if g.numel() > 1 else g.new_zeros(())


def __getattr__(name: str) -> object:
    # published defaults: moved to the config layer, which checks a run's settings (issue 26)
    if name in ("OGM_GE_ALPHA", "ADA2I_ALPHA", "ADA2I_START_EPOCH", "ogm_ge_end_epoch"):
        return moved(__name__, name, ("spcl_diag.config.balancing",))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
