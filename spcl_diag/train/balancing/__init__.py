"""Modality-balancing methods: the hooks the training loop calls (:mod:`.base`), one module per
method, and the registry :data:`METHODS` of their specs (:mod:`.registry`, built-ins in :mod:`.methods`).

``RunConfig.balancing`` names a method of :data:`METHODS`, tuned by ``RunConfig.balancing_config``.
Each :class:`MethodSpec` gives the method's citation and reference code, what it changes and
logs, the config fields it reads with their defaults and sources, the modalities and heads it
needs (checked when the config is read, :func:`spcl_diag.config.balancing.balancing_problem`) and
whether it stacks; all of it but the builder is the config layer's torch-free
:class:`~spcl_diag.config.balancing.MethodRequirements`. The table of methods in docs/methods.md
is generated from it (a test keeps them equal); add your own with :func:`register_balancing`
(``docs/extending.md``). Every method logs its coefficients or weights per epoch in
``epochs.csv`` (split ``train``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from spcl_diag.config.balancing import (
    ADA2I_ALPHA,
    ADA2I_START_EPOCH,
    AGM_ALPHA,
    G_BLENDING_SUPER_EPOCH,
    MMPARETO_GAMMA,
    OGM_GE_ALPHA,
    PMR_ALPHA,
    PMR_START_EPOCH,
    UNI_AUX_WEIGHT,
    BalancingConfig,
    Default,
    MethodRequirements,
    balancing_problem,
)
from spcl_diag.data.batching import DeviceSplit
from spcl_diag.models import BACKBONES
from spcl_diag.models.base import Backbone
from spcl_diag.suggest import unknown_name
from spcl_diag.train.balancing import methods as _builtins  # noqa: F401  (registers the built-in methods)
from spcl_diag.train.balancing.agm import (
    AdaptiveGradientModulation,
    agm_coefficients,
    shapley_responses,
)
from spcl_diag.train.balancing.auxiliary import UnimodalAuxiliary
from spcl_diag.train.balancing.base import Balancer, encoder_parameters, gold_scores
from spcl_diag.train.balancing.blending import (
    GradientBlending,
    blending_weights,
    carve_holdout,
)
from spcl_diag.train.balancing.modulation import (
    GradientModulation,
    ada2i_coefficients,
    modulated_parameters,
    ogm_ge_coefficients,
)
from spcl_diag.train.balancing.pareto import (
    MMPareto,
    pareto_gradient,
    pareto_weights,
)
from spcl_diag.train.balancing.prototypes import (
    PrototypicalRebalance,
    pmr_coefficients,
    prototype_log_probs,
)
from spcl_diag.train.balancing.registry import (
    METHODS,
    BalancerContext,
    MethodSpec,
    methods_table,
    register_balancing,
    resolve_settings,
)


def holdout_fraction(name: str, config: BalancingConfig, epochs: int) -> float:
    """Share of the training dialogues method ``name`` holds out of training (0 for most methods)."""
    spec = METHODS[name]
    return 0.0 if spec.holdout is None else spec.holdout(resolve_settings(spec, config, epochs))


def make_balancer(
    name: str, *, model: Backbone, config: BalancingConfig, seed: int, epochs: int,
    class_weights: Tensor | None = None, train_config: Any = None, holdout: DeviceSplit | None = None,
    view: Callable[[Any], Any] | None = None,
) -> Balancer:
    """The balancing method called ``name`` for ``model``.

    Parameters
    ----------
    name
        A key of :data:`METHODS`.
    model
        The backbone whose training is balanced.
    config
        The run's ``balancing_config``; ``None`` fields take the method's defaults (its spec).
    seed
        The run's balancing seed (gradient noise, PMR's prototype subsets, uni-aux's heads).
    epochs
        The run's ``train.epochs`` (defaults such as OGM-GE's window depend on it).
    class_weights
        ``[C]`` class weights of the joint loss (``train.class_weights``), or ``None``: every
        cross-entropy term the method adds is weighted the same way.
    train_config, holdout
        The run's ``TrainConfig`` and the dialogues carved out for the method
        (:func:`holdout_fraction`); read by ``g-blending``'s held-out estimator.
    view
        Parameter -> what the method edits (the stacked loop passes one arm's slices); ``None``:
        the parameters themselves.

    Raises
    ------
    ValueError
        For an unknown name, or a method that cannot train this backbone or modality set.

    Examples
    --------
    >>> from spcl_diag.models import build_backbone
    >>> model = build_backbone("late_fusion", modalities="ta", dims={"t": 4, "a": 4}, n_classes=2,
    ...                        n_speakers=1, overrides={"hidden_dim": 4, "feedforward_dim": 8})
    >>> balancer = make_balancer("ogm-ge", model=model, config=BalancingConfig(), seed=0, epochs=100)
    >>> balancer.alpha, balancer.start_epoch, balancer.end_epoch
    (0.1, 0, 51)
    >>> type(make_balancer("pmr", model=model, config=BalancingConfig(), seed=0, epochs=4)).__name__
    'PrototypicalRebalance'
    """
    if name not in METHODS:
        raise ValueError(unknown_name("balancing method", name, list(METHODS), listed="valid methods are") + ".")
    backbone = next((key for key, spec in BACKBONES.items() if spec.cls is type(model)), type(model).__name__)
    problem = balancing_problem(name, backbone, model.modalities)
    if problem:
        raise ValueError(problem + ".")
    spec = METHODS[name]
    context = BalancerContext(model=model, settings=resolve_settings(spec, config, epochs), seed=seed, epochs=epochs,
                              class_weights=class_weights, train_config=train_config, holdout=holdout,
                              **({} if view is None else {"view": view}))
    if spec.holdout is not None and spec.holdout(context.settings) > 0 and holdout is None:
        raise ValueError(f"balancing {name!r} holds out training dialogues; pass the held-out split as holdout=.")
    return spec.build(context)


__all__ = [
    "ADA2I_ALPHA",
    "ADA2I_START_EPOCH",
    "AGM_ALPHA",
    "G_BLENDING_SUPER_EPOCH",
    "METHODS",
    "MMPARETO_GAMMA",
    "OGM_GE_ALPHA",
    "PMR_ALPHA",
    "PMR_START_EPOCH",
    "UNI_AUX_WEIGHT",
    "AdaptiveGradientModulation",
    "Balancer",
    "BalancerContext",
    "Default",
    "GradientBlending",
    "GradientModulation",
    "MMPareto",
    "MethodRequirements",
    "MethodSpec",
    "PrototypicalRebalance",
    "UnimodalAuxiliary",
    "ada2i_coefficients",
    "agm_coefficients",
    "blending_weights",
    "carve_holdout",
    "encoder_parameters",
    "gold_scores",
    "holdout_fraction",
    "make_balancer",
    "methods_table",
    "modulated_parameters",
    "ogm_ge_coefficients",
    "pareto_gradient",
    "pareto_weights",
    "pmr_coefficients",
    "prototype_log_probs",
    "register_balancing",
    "shapley_responses",
]
