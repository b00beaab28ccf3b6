"""The built-in balancing methods' specs (:class:`~spcl_diag.train.balancing.registry.MethodSpec`).

Each default names where its value comes from; each method's module docstring has its formulas,
its departures from the reference and the published numbers each variant reproduces.
"""

from __future__ import annotations

from spcl_diag.train.balancing.agm import AGM_ALPHA, AdaptiveGradientModulation
from spcl_diag.train.balancing.auxiliary import UNI_AUX_WEIGHT, UnimodalAuxiliary
from spcl_diag.train.balancing.base import Balancer
from spcl_diag.train.balancing.blending import (
    G_BLEND_HOLDOUT,
    G_BLENDING_SUPER_EPOCH,
    GradientBlending,
)
from spcl_diag.train.balancing.modulation import (
    ADA2I_ALPHA,
    ADA2I_START_EPOCH,
    OGM_GE_ALPHA,
    GradientModulation,
    modulated_parameters,
    ogm_ge_end_epoch,
)
from spcl_diag.train.balancing.pareto import MMPARETO_GAMMA, MMPareto
from spcl_diag.train.balancing.prototypes import (
    PMR_ALPHA,
    PMR_MOMENTUM,
    PMR_MU,
    PMR_START_EPOCH,
    PrototypicalRebalance,
    pmr_entropy_epochs,
)
from spcl_diag.train.balancing.registry import (
    BalancerContext,
    Default,
    MethodSpec,
    register_balancing,
)

_NO_END = Default(None, "no end: the method acts to the last epoch")
_NOISE = Default(True, "on: the GE of OGM-GE / Ada2I's noise")


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


BUILTIN_SPECS: tuple[MethodSpec, ...] = (
    MethodSpec("none", build=lambda ctx: Balancer(), summary="nothing", min_modalities=1, stacks=True),
    MethodSpec(
        "ogm-ge", build=_modulation("ogm-ge"),
        summary="scales the dominant modality's encoder weight gradients by 1 - tanh(alpha rho), plus Gaussian "
                "noise, through half the run",
        logged=("modulation", "discrepancy_ratio_batch"),
        citation="Peng et al., CVPR 2022", code="GeWu-Lab/OGM-GE_CVPR2022",
        defaults={
            "alpha": Default(OGM_GE_ALPHA, "the authors' README default 0.1 (their CREMA-D runs use 0.8)"),
            "start_epoch": Default(0, "main.py --modulation_starts 0"),
            "end_epoch": Default(ogm_ge_end_epoch, "main.py: through epoch 50 of 100 inclusive, i.e. half the run"),
            "noise": _NOISE,
            "scope": Default("encoder", "main.py: only the encoders' weight kernels (rank >= 2), never the classifier"),
        },
        stacks=True,
    ),
    MethodSpec(
        "ada2i", build=_modulation("ada2i"),
        summary="scales each encoder's gradients by 1 - tanh(alpha rho) with the disparity ratio rho = s_m / min s, "
                "plus noise",
        logged=("modulation", "disparity_ratio_batch"),
        citation="Nguyen et al., ACM MM 2024", code="leson502/ADA2I",
        defaults={
            "alpha": Default(ADA2I_ALPHA, "Ada2I, Table 2, IEMOCAP"),
            "start_epoch": Default(ADA2I_START_EPOCH, "the Ada2I reference: modulate from epoch 4 counted from 1 (index 3)"),
            "end_epoch": _NO_END,
            "noise": _NOISE,
            "scope": Default("encoder", "model/ada2i.py: Net.get_encoder_params, never AFW or the classifier"),
        },
        stacks=True,
    ),
    MethodSpec(
        "uni-aux", build=_uni_aux, needs_pure_heads=True,
        summary="joint loss + weight x the cross-entropy of an auxiliary unimodal head per modality",
        logged=("aux_weight", "aux_loss"),
        citation="Wei and Hu, ICML 2024 (uni-modal assistance baseline)", code="GeWu-Lab/MMPareto_ICML2024",
        defaults={
            "weight": Default(UNI_AUX_WEIGHT, "MMPareto_ICML2024: unimodal losses added with weight 1"),
            "heads": Default("separate", "MMPareto_ICML2024: separate unimodal classifiers beside the joint one"),
        },
        stacks=True,
    ),
    MethodSpec(
        "g-blending", build=_g_blending, needs_pure_heads=True,
        summary="loss weights per head from the overfitting-to-generalisation ratio of copies trained one super-epoch "
                "on each head's loss, measured on a held-out tenth of train",
        logged=("blend_weight",),
        citation="Wang, Tran and Feiszli, CVPR 2020", code="facebookresearch/VMZ",
        defaults={
            "estimator": Default("held-out", "G-Blend's estimator (Wang et al. 2020; BalanceBenchmark super_epoch_origin)"),
            "super_epoch": Default(G_BLENDING_SUPER_EPOCH, "BalanceBenchmark configs/trainer_config.yaml: 10"),
        },
        holdout=lambda s: G_BLEND_HOLDOUT if s["estimator"] == "held-out" else 0.0,
        stacks=True,
    ),
    MethodSpec(
        "pmr", build=_pmr, needs_pure_heads=True,
        summary="class prototypes per modality: clipped prototypical cross-entropy for the slow modality, entropy "
                "reward for the dominant one in the first E_r epochs",
        logged=("pmr_beta", "pmr_gamma", "prototype_ratio_batch"),
        citation="Fan et al., CVPR 2023", code="fanyunfeng-bit/Modal-Imbalance-PMR",
        defaults={
            "variant": Default("paper", "Fan et al. 2023, Eq. 10-13"),
            "alpha": Default(PMR_ALPHA, "main_Prototype_grad.py --alpha default 1.0"),
            "mu": Default(PMR_MU, "paper: mu = 1e-2 or 1e-3"),
            "entropy_epochs": Default(pmr_entropy_epochs, "our choice: half the run (the paper sets E_r per dataset)"),
            "momentum": Default(PMR_MOMENTUM, "main_Prototype_grad.py --momentum_coef default 0.2"),
            "start_epoch": Default(PMR_START_EPOCH, "Algorithm 1: from the first epoch"),
            "end_epoch": _NO_END,
        },
        stacks=True,
    ),
    MethodSpec(
        "agm", build=_agm,
        summary="Shapley mono-modal responses by masking, gradient coefficient exp(alpha min(r_bar - r, 10))",
        logged=("modulation", "mono_loss_batch"),
        citation="Li et al., ICCV 2023", code="lihong2303/AGM_ICCV2023",
        defaults={
            "alpha": Default(AGM_ALPHA, "utils/config.py default alpha 1"),
            "start_epoch": Default(0, "from the first epoch"),
            "end_epoch": _NO_END,
            "coalition": Default("zero", "model/CREMAD_net.py: the empty coalition scores 0"),
        },
        solo_reason="its 2^M masked forward passes per step (one per coalition) and its per-coalition losses run on one "
                    "model; a stack would multiply them by the arms and keep all 2^M x A graphs alive at once",
    ),
    MethodSpec(
        "mmpareto", build=_mmpareto, needs_pure_heads=True,
        summary="multimodal and unimodal gradients summed when they agree, min-norm (MGDA) when they conflict, "
                "magnitude rescaled",
        logged=("pareto_cosine", "pareto_conflict", "pareto_weight_unimodal", "pareto_grad_ratio"),
        citation="Wei and Hu, ICML 2024", code="GeWu-Lab/MMPareto_ICML2024",
        defaults={"gamma": Default(MMPARETO_GAMMA, "the authors' scripts: 1.5")},
        solo_reason="it needs a second backward pass per step (the unimodal gradients, before the clip) and a "
                    "min-norm solve per arm; the stacked loop runs one backward pass for all arms",
    ),
)

for _spec in BUILTIN_SPECS:
    register_balancing(_spec, _builtin=True)
