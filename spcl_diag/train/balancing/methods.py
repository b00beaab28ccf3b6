"""The built-in balancing methods' specs: their requirements (config layer) and their builders.

The data of each built-in method (citation, defaults and where each comes from, what it needs,
whether it stacks) is written once, torch-free, in
:data:`spcl_diag.config.balancing.BUILTIN_REQUIREMENTS`, so that configs are checked without
torch; this module adds how each is built (:meth:`MethodSpec.of`) and registers the specs.
Each method's module docstring has its formulas, its departures from the reference and the
published numbers each variant reproduces.
"""

from __future__ import annotations

from spcl_diag.config.balancing import BUILTIN_REQUIREMENTS
from spcl_diag.train.balancing.agm import AdaptiveGradientModulation
from spcl_diag.train.balancing.auxiliary import UnimodalAuxiliary
from spcl_diag.train.balancing.base import Balancer
from spcl_diag.train.balancing.blending import G_BLEND_HOLDOUT, GradientBlending
from spcl_diag.train.balancing.modulation import GradientModulation, modulated_parameters
from spcl_diag.train.balancing.pareto import MMPareto
from spcl_diag.train.balancing.prototypes import PrototypicalRebalance
from spcl_diag.train.balancing.registry import BalancerContext, MethodSpec, register_balancing


def _modulation(method: str):
    def build(ctx: BalancerContext) -> Balancer:
        s = ctx.settings
        chosen = modulated_parameters(ctx.model, method, s["scope"])
        return GradientModulation(
            {m: [ctx.view(p) for p in params] for m, params in chosen.items()}, method=method, alpha=s["alpha"],
            start_epoch=s["start_epoch"], end_epoch=s["end_epoch"], noise=s["noise"], seed=ctx.seed,
        )

    return build


def _uni_aux(ctx: BalancerContext) -> Balancer:
    return UnimodalAuxiliary(ctx.model, weight=ctx.settings["weight"], heads=ctx.settings["heads"], seed=ctx.seed,
                             class_weights=ctx.class_weights)


def _g_blending(ctx: BalancerContext) -> Balancer:
    t = ctx.train_config
    return GradientBlending(
        ctx.model.modalities, super_epoch=ctx.settings["super_epoch"], estimator=ctx.settings["estimator"],
        holdout=ctx.holdout, trainer=None if t is None else (t.lr, t.weight_decay, t.batch_size, t.clip_norm),
        seed=ctx.seed, class_weights=ctx.class_weights,
    )


def _pmr(ctx: BalancerContext) -> Balancer:
    s = ctx.settings
    return PrototypicalRebalance(
        ctx.model.modalities, ctx.model.n_classes, alpha=s["alpha"], mu=s["mu"], variant=s["variant"],
        start_epoch=s["start_epoch"], end_epoch=s["end_epoch"], entropy_epochs=s["entropy_epochs"],
        momentum=s["momentum"], seed=ctx.seed, class_weights=ctx.class_weights,
    )


def _agm(ctx: BalancerContext) -> Balancer:
    s = ctx.settings
    return AdaptiveGradientModulation(ctx.model, alpha=s["alpha"], start_epoch=s["start_epoch"],
                                      end_epoch=s["end_epoch"], coalition=s["coalition"])


def _mmpareto(ctx: BalancerContext) -> Balancer:
    return MMPareto(ctx.model, gamma=ctx.settings["gamma"], class_weights=ctx.class_weights)


_BUILDS = {
    "none": lambda ctx: Balancer(),
    "ogm-ge": _modulation("ogm-ge"),
    "ada2i": _modulation("ada2i"),
    "uni-aux": _uni_aux,
    "g-blending": _g_blending,
    "pmr": _pmr,
    "agm": _agm,
    "mmpareto": _mmpareto,
}
_HOLDOUTS = {"g-blending": lambda s: G_BLEND_HOLDOUT if s["estimator"] == "held-out" else 0.0}

BUILTIN_SPECS: tuple[MethodSpec, ...] = tuple(
    MethodSpec.of(requirements, build=_BUILDS[requirements.name], holdout=_HOLDOUTS.get(requirements.name))
    for requirements in BUILTIN_REQUIREMENTS
)

for _spec in BUILTIN_SPECS:
    register_balancing(_spec, _builtin=True)
