"""Modality-balancing methods: the hooks the training loop calls (:mod:`.base`) and one module per method.

Methods (``RunConfig.balancing``, tuned by ``RunConfig.balancing_config``):

=============== ============================================ ===================================
name            what it changes                              module
=============== ============================================ ===================================
``none``        nothing                                      :mod:`.base`
``ogm-ge``      scales each branch's gradient after the clip :mod:`.modulation` (Peng et al. 2022)
``ada2i``       scales each branch's gradient after the clip :mod:`.modulation` (Nguyen et al. 2024)
``uni-aux``     adds each head's unimodal cross-entropy      :mod:`.auxiliary`
``g-blending``  weights the joint and unimodal losses        :mod:`.auxiliary` (Wang et al. 2020)
``pmr``         adds prototype terms per modality            :mod:`.prototypes` (Fan et al. 2023)
``agm``         scales each branch's gradient before the clip :mod:`.agm` (Li et al. 2023)
``mmpareto``    combines multimodal and unimodal gradients   :mod:`.pareto` (Wei and Hu 2024)
=============== ============================================ ===================================

Which backbones and modality sets a method accepts is decided when the config is read
(:func:`spcl_diag.runs.config.balancing_problem`): ``uni-aux``, ``g-blending``, ``pmr`` and
``mmpareto`` need pure per-modality heads (late fusion, DialogueGCN, BiDDIN), and all five new
methods need at least two modalities. Every method logs its coefficients or weights per
epoch in ``epochs.csv`` (split ``train``).
"""

from __future__ import annotations

from spcl_diag.models import BACKBONES
from spcl_diag.models.base import Backbone
from spcl_diag.runs.config import BALANCING_METHODS, BalancingConfig, balancing_problem
from spcl_diag.train.balancing.agm import (
    AGM_ALPHA,
    AdaptiveGradientModulation,
    agm_coefficients,
    shapley_responses,
)
from spcl_diag.train.balancing.auxiliary import (
    G_BLENDING_SUPER_EPOCH,
    UNI_AUX_WEIGHT,
    GradientBlending,
    UnimodalAuxiliary,
    blending_weights,
)
from spcl_diag.train.balancing.base import Balancer, gold_scores
from spcl_diag.train.balancing.modulation import (
    ADA2I_ALPHA,
    ADA2I_START_EPOCH,
    OGM_GE_ALPHA,
    GradientModulation,
    ada2i_coefficients,
    ogm_ge_coefficients,
)
from spcl_diag.train.balancing.pareto import (
    MMPARETO_GAMMA,
    MMPareto,
    pareto_gradient,
    pareto_weights,
)
from spcl_diag.train.balancing.prototypes import (
    PMR_ALPHA,
    PMR_START_EPOCH,
    PrototypicalRebalance,
    pmr_coefficients,
    prototype_log_probs,
)

METHODS: tuple[str, ...] = BALANCING_METHODS


def make_balancer(name: str, *, model: Backbone, config: BalancingConfig, seed: int) -> Balancer:
    """The balancing method called ``name`` for ``model``.

    Parameters
    ----------
    name
        One of :data:`METHODS`.
    model
        The backbone whose training is balanced.
    config
        Alpha, modulation window, noise, ``weight``, ``super_epoch``, ``gamma``; ``None``
        fields take the method's default (``ogm-ge``: alpha 0.5 from epoch 0; ``ada2i``: alpha
        0.037 from epoch index 3; ``uni-aux``: weight 1; ``g-blending``: super-epoch 2;
        ``pmr``: alpha 1 from epoch index 1; ``agm``: alpha 1 from epoch 0; ``mmpareto``:
        gamma 1.5).
    seed
        Seed of the gradient-noise generator (OGM-GE, Ada2I).

    Raises
    ------
    ValueError
        For an unknown name, or a method that cannot train this backbone or modality set.

    Examples
    --------
    >>> from spcl_diag.models import build_backbone
    >>> model = build_backbone("late_fusion", modalities="ta", dims={"t": 4, "a": 4}, n_classes=2,
    ...                        n_speakers=1, overrides={"hidden_dim": 4, "feedforward_dim": 8})
    >>> balancer = make_balancer("ada2i", model=model, config=BalancingConfig(), seed=0)
    >>> balancer.alpha, balancer.start_epoch
    (0.037, 3)
    >>> type(make_balancer("pmr", model=model, config=BalancingConfig(), seed=0)).__name__
    'PrototypicalRebalance'
    """
    if name not in METHODS:
        raise ValueError(f"unknown balancing method {name!r}; valid methods are {', '.join(METHODS)}.")
    if name == "none":
        return Balancer()
    backbone = next((key for key, spec in BACKBONES.items() if spec.cls is type(model)), type(model).__name__)
    problem = balancing_problem(name, backbone, model.modalities)
    if problem:
        raise ValueError(problem + ".")
    alpha, start = config.alpha, config.start_epoch
    if name in ("ogm-ge", "ada2i"):
        default_alpha, default_start = {"ogm-ge": (OGM_GE_ALPHA, 0), "ada2i": (ADA2I_ALPHA, ADA2I_START_EPOCH)}[name]
        return GradientModulation(
            model,
            method=name,
            alpha=default_alpha if alpha is None else alpha,
            start_epoch=default_start if start is None else start,
            end_epoch=config.end_epoch,
            noise=config.noise,
            seed=seed,
        )
    if name == "uni-aux":
        return UnimodalAuxiliary(model.modalities, weight=UNI_AUX_WEIGHT if config.weight is None else config.weight)
    if name == "g-blending":
        super_epoch = G_BLENDING_SUPER_EPOCH if config.super_epoch is None else config.super_epoch
        return GradientBlending(model.modalities, super_epoch=super_epoch)
    if name == "pmr":
        return PrototypicalRebalance(
            model.modalities, model.n_classes, alpha=PMR_ALPHA if alpha is None else alpha,
            start_epoch=PMR_START_EPOCH if start is None else start, end_epoch=config.end_epoch,
        )
    if name == "agm":
        return AdaptiveGradientModulation(
            model, alpha=AGM_ALPHA if alpha is None else alpha, start_epoch=0 if start is None else start,
            end_epoch=config.end_epoch,
        )
    return MMPareto(model, gamma=MMPARETO_GAMMA if config.gamma is None else config.gamma)


__all__ = [
    "METHODS",
    "AdaptiveGradientModulation",
    "Balancer",
    "GradientBlending",
    "GradientModulation",
    "MMPareto",
    "PrototypicalRebalance",
    "UnimodalAuxiliary",
    "ada2i_coefficients",
    "agm_coefficients",
    "blending_weights",
    "gold_scores",
    "make_balancer",
    "ogm_ge_coefficients",
    "pareto_gradient",
    "pareto_weights",
    "pmr_coefficients",
    "prototype_log_probs",
    "shapley_responses",
]
