r"""What a run config needs to know about its balancing method, without torch: the method requirements.

A balancing method has two parts. Its *requirements* (:class:`MethodRequirements`, this module)
are pure data: its name, citation, reference code, what it changes and logs, the
``balancing_config`` fields it reads with each :class:`Default` and where the value comes from,
the modalities and heads it needs, and whether it trains inside a stack (if not, why). How it is
*built* (a callable that returns a :class:`~spcl_diag.train.balancing.base.Balancer`, which
needs torch) is the training layer's :class:`~spcl_diag.train.balancing.registry.MethodSpec`,
which carries the same fields plus ``build``.

:func:`~spcl_diag.train.balancing.registry.register_balancing` registers both parts in one call:
the requirements here, in :data:`METHOD_REQUIREMENTS`, which the config checks read
(:func:`balancing_problem`, :func:`balancing_config_problems`), and the spec in
``spcl_diag.train.balancing.METHODS``.

Where the built-in methods' data lives: here, in :data:`BUILTIN_REQUIREMENTS` with the
published defaults they cite (``OGM_GE_ALPHA``, ``ogm_ge_end_epoch``, ...), registered when
this module is imported; ``spcl_diag.train.balancing.methods`` adds each one's builder to the
same data (:meth:`MethodSpec.of`). So a config naming a built-in method is checked without
importing torch (the command line reads and checks configs before it trains), and each value
and source is written once. A plugin's method is registered by the plugin itself, which
:class:`~spcl_diag.config.schema.RunConfig` imports before its checks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from spcl_diag.config.settings import in_range, is_int
from spcl_diag.errors import ConfigError
from spcl_diag.models import BACKBONES
from spcl_diag.suggest import unknown_name

# The built-in methods' published defaults (each method's module in spcl_diag/train/balancing/
# has its formulas, departures from the reference and the numbers each variant reproduces).
OGM_GE_ALPHA = 0.1  # GeWu-Lab/OGM-GE_CVPR2022 README (its CREMA-D runs use 0.8)
ADA2I_ALPHA = 0.037  # Ada2I, Table 2, IEMOCAP
ADA2I_START_EPOCH = 3  # reference: modulate from "epoch >= 4" counted from 1, i.e. index 3
UNI_AUX_WEIGHT = 1.0  # MMPareto_ICML2024's uni-modal assistance: the unimodal losses added with weight 1
G_BLENDING_SUPER_EPOCH = 10  # BalanceBenchmark, configs/trainer_config.yaml: GBlending super_epoch 10
PMR_ALPHA = 1.0  # authors' code, main_Prototype_grad.py: --alpha default 1.0
PMR_MU = 1e-2  # paper, implementation details: mu is 1e-2 or 1e-3
PMR_MOMENTUM = 0.2  # authors' code: --momentum_coef default 0.2
PMR_START_EPOCH = 0  # Algorithm 1: from the first epoch (prototypes are computed before it)
AGM_ALPHA = 1.0  # modulation strength; the paper tunes it per dataset (the authors' config default is 1)
MMPARETO_GAMMA = 1.5  # the authors' scripts


def ogm_ge_end_epoch(epochs: int) -> int:
    """The default end of OGM-GE's window: through epoch ``epochs // 2`` inclusive.

    The reference modulates while ``modulation_starts <= epoch <= modulation_ends`` with
    ``modulation_ends = 50`` of ``epochs = 100`` (GeWu-Lab/OGM-GE_CVPR2022, ``main.py``); the
    window here is half-open, so its end is ``epochs // 2 + 1``.

    Examples
    --------
    >>> ogm_ge_end_epoch(100), ogm_ge_end_epoch(6)
    (51, 4)
    """
    return epochs // 2 + 1


def pmr_entropy_epochs(epochs: int) -> int:
    """The default :math:`E_r` of PMR: the first half of the run (the paper sets it per dataset)."""
    return epochs // 2


@dataclass(frozen=True)
class Default:
    """A default value of a ``balancing_config`` field and where it comes from.

    ``value`` is the value, or a function of the run's epochs (``OGM-GE``'s window end).
    """

    value: Any
    source: str

    def resolve(self, epochs: int) -> Any:
        """The value for a run of ``epochs`` epochs."""
        return self.value(epochs) if callable(self.value) else self.value


@dataclass(frozen=True)
class BalancingConfig:
    """Settings of the gradient balancing method (``RunConfig.balancing``); ``None`` = its default.

    Every method's defaults and the source of each value are in its requirements,
    :data:`METHOD_REQUIREMENTS` (and the table of methods in docs/methods.md). Epochs are
    0-based indices; a method acts while ``start_epoch <= epoch < end_epoch``. A field read by
    other methods only is a config error.
    """

    alpha: float | None = None  # strength: ogm-ge, ada2i, pmr (PCE weight), agm
    start_epoch: int | None = None  # first epoch the method acts (0-based): ogm-ge, ada2i, pmr, agm
    end_epoch: int | None = None  # first epoch it no longer acts (0-based): ogm-ge, ada2i, pmr, agm
    noise: bool = True  # ogm-ge, ada2i: add the Gaussian gradient noise (OGM-GE's GE, Ada2I's enhancement)
    scope: Literal["encoder", "branch"] | None = None
    # ogm-ge, ada2i: which gradients are modulated; 'encoder' = the references' (see the method
    # spec), 'branch' = every parameter of the modality's branch, head and fusion maps included
    weight: float | None = None  # uni-aux: weight of each unimodal cross-entropy
    heads: Literal["separate", "shared"] | None = None
    # uni-aux: 'separate' = auxiliary unimodal heads beside the joint one (reference);
    # 'shared' = the unimodal losses train the heads summed into the joint
    super_epoch: int | None = None  # g-blending: epochs between weight re-estimates
    estimator: Literal["held-out", "online"] | None = None
    # g-blending: 'held-out' = G-Blend's estimator (copies trained one super-epoch per head, losses on a
    # held-out part of train); 'online' = the blended model's own heads at consecutive checkpoints
    variant: Literal["paper", "code"] | None = None
    # pmr: 'paper' = Fan et al. Eq. 10-13 (clipped coefficients, entropy term); 'code' = the
    # authors' public code (flat alpha on the slow modality's PCE, no entropy term)
    mu: float | None = None  # pmr: weight of the entropy term (paper, Eq. 13)
    entropy_epochs: int | None = None  # pmr: E_r, the entropy term acts in epochs [0, E_r)
    momentum: float | None = None  # pmr: share of the old prototype in the moving average (Eq. 12)
    coalition: Literal["zero", "shapley"] | None = None
    # agm: 'zero' = the empty coalition scores 0, as the authors' code does; 'shapley' = exact
    # Shapley values with f(empty) the output on all-zero inputs
    gamma: float | None = None  # mmpareto: factor on the combined gradient's magnitude


@dataclass(frozen=True)
class MethodRequirements:
    """What the config checks and the docs know about a balancing method (no builder, no torch).

    Attributes
    ----------
    name
        The value of ``RunConfig.balancing``.
    summary, logged
        What it changes, and the metrics it logs per epoch (``epochs.csv``, split ``train``).
    citation, code
        The paper, and the authors' reference code (``""`` where there is none).
    defaults
        ``balancing_config`` field -> :class:`Default`; the keys are the fields the method
        reads (setting any other field is a config error).
    min_modalities
        Fewer active modalities is a config error (2 for a method that balances modalities
        against each other).
    needs_pure_heads
        The method trains or scores each modality's head on its own: backbones with mixed
        heads (``PURE_HEADS = False``) are refused.
    stacks, solo_reason
        Whether runs of this method train inside a stack (``--stack arms``); if not, why
        (what a stacked method may do: :class:`~spcl_diag.train.balancing.registry.MethodSpec`).
    """

    name: str
    summary: str
    logged: tuple[str, ...] = ()
    citation: str = ""
    code: str = ""
    defaults: Mapping[str, Default] = field(default_factory=dict)
    min_modalities: int = 2
    needs_pure_heads: bool = False
    stacks: bool = False
    solo_reason: str = "its spec does not say that it stacks (stacks=False)"


METHOD_REQUIREMENTS: dict[str, MethodRequirements] = {}  # name -> requirements, built-ins first
_BUILTIN: set[str] = set()


def register_requirements(requirements: MethodRequirements, *, _builtin: bool = False) -> None:
    """Add a method's requirements to :data:`METHOD_REQUIREMENTS` (``register_balancing`` calls this).

    Registering a name again replaces the earlier entry; the built-in methods cannot be replaced.

    Raises
    ------
    ConfigError
        When ``requirements`` names a built-in method, reads a field that ``balancing_config``
        does not have, or says it cannot stack without a reason.
    """
    if not isinstance(requirements, MethodRequirements):
        raise ConfigError(f"register_requirements needs a MethodRequirements; got {type(requirements).__name__}.")
    name = requirements.name
    problems = []
    if name in _BUILTIN and not _builtin:
        problems.append(f"{name!r} is a built-in balancing method and cannot be replaced")
    fields = {f.name for f in dataclasses.fields(BalancingConfig)}
    unknown = sorted(set(requirements.defaults) - fields)
    if unknown:
        problems.append(f"defaults name fields balancing_config does not have: {', '.join(unknown)} "
                        f"(valid: {', '.join(sorted(fields))})")
    if not requirements.stacks and name != "none" and not requirements.solo_reason:
        problems.append("a method that does not stack must say why in solo_reason")
    if problems:
        raise ConfigError(f"balancing method {name!r}: " + "; ".join(problems) + ".")
    METHOD_REQUIREMENTS[name] = requirements
    if _builtin:
        _BUILTIN.add(name)


_NO_END = Default(None, "no end: the method acts to the last epoch")
_NOISE = Default(True, "on: the GE of OGM-GE / Ada2I's noise")

BUILTIN_REQUIREMENTS: tuple[MethodRequirements, ...] = (
    MethodRequirements("none", summary="nothing", min_modalities=1, stacks=True),
    MethodRequirements(
        "ogm-ge",
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
    MethodRequirements(
        "ada2i",
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
    MethodRequirements(
        "uni-aux", needs_pure_heads=True,
        summary="joint loss + weight x the cross-entropy of an auxiliary unimodal head per modality",
        logged=("aux_weight", "aux_loss"),
        citation="Wei and Hu, ICML 2024 (uni-modal assistance baseline)", code="GeWu-Lab/MMPareto_ICML2024",
        defaults={
            "weight": Default(UNI_AUX_WEIGHT, "MMPareto_ICML2024: unimodal losses added with weight 1"),
            "heads": Default("separate", "MMPareto_ICML2024: separate unimodal classifiers beside the joint one"),
        },
        stacks=True,
    ),
    MethodRequirements(
        "g-blending", needs_pure_heads=True,
        summary="loss weights per head from the overfitting-to-generalisation ratio of copies trained one super-epoch "
                "on each head's loss, measured on a held-out tenth of train",
        logged=("blend_weight",),
        citation="Wang, Tran and Feiszli, CVPR 2020", code="facebookresearch/VMZ",
        defaults={
            "estimator": Default("held-out", "G-Blend's estimator (Wang et al. 2020; BalanceBenchmark super_epoch_origin)"),
            "super_epoch": Default(G_BLENDING_SUPER_EPOCH, "BalanceBenchmark configs/trainer_config.yaml: 10"),
        },
        stacks=True,
    ),
    MethodRequirements(
        "pmr", needs_pure_heads=True,
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
    MethodRequirements(
        "agm",
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
    MethodRequirements(
        "mmpareto", needs_pure_heads=True,
        summary="multimodal and unimodal gradients summed when they agree, min-norm (MGDA) when they conflict, "
                "magnitude rescaled",
        logged=("pareto_cosine", "pareto_conflict", "pareto_weight_unimodal", "pareto_grad_ratio"),
        citation="Wei and Hu, ICML 2024", code="GeWu-Lab/MMPareto_ICML2024",
        defaults={"gamma": Default(MMPARETO_GAMMA, "the authors' scripts: 1.5")},
        solo_reason="it needs a second backward pass per step (the unimodal gradients, before the clip) and a "
                    "min-norm solve per arm; the stacked loop runs one backward pass for all arms",
    ),
)

for _requirements in BUILTIN_REQUIREMENTS:
    register_requirements(_requirements, _builtin=True)


def balancing_problem(method: str, backbone: str, modalities: str) -> str | None:
    """Why ``method`` cannot train ``backbone`` on ``modalities``, in one sentence, or ``None``.

    Reads the method's requirements (:data:`METHOD_REQUIREMENTS`): its least number of
    modalities and whether it needs pure per-modality heads.

    Examples
    --------
    >>> print(balancing_problem("pmr", "late_fusion", "ta"))
    None
    >>> balancing_problem("pmr", "mmgcn", "ta").split(":")[0]
    "balancing 'pmr' cannot train backbone 'mmgcn'"
    >>> balancing_problem("ogm-ge", "late_fusion", "t").split(":")[0]
    "balancing 'ogm-ge' cannot train on the single modality 't'"
    """
    if method == "none":
        return None
    spec = METHOD_REQUIREMENTS[method]
    if len(modalities) < spec.min_modalities:
        return (f"balancing {method!r} cannot train on the single modality {modalities!r}: it balances "
                f"modalities against each other and needs at least {spec.min_modalities} modalities")
    if spec.needs_pure_heads and backbone in BACKBONES and not BACKBONES[backbone].heads_are_pure():
        pure = [name for name, other in METHOD_REQUIREMENTS.items() if name != "none" and not other.needs_pure_heads]
        return (f"balancing {method!r} cannot train backbone {backbone!r}: it needs pure per-modality "
                f"heads (logits of each modality computed from that modality alone), and {backbone}'s "
                f"heads are mixed across modalities; use {', '.join(pure)} with this backbone")
    return None


def balancing_config_problems(method: str, bal: BalancingConfig, backbone: str, modalities: str) -> list[str]:
    """The problems of a run's ``balancing`` (``method``) and ``balancing_config`` (``bal``), one sentence each.

    An unknown method, a field the method does not read, a value out of range, and
    :func:`balancing_problem` for the run's ``backbone`` and ``modalities``.
    """
    if method not in METHOD_REQUIREMENTS:
        return [unknown_name("balancing", method, list(METHOD_REQUIREMENTS), listed="valid methods are")]
    problems = []
    spec = METHOD_REQUIREMENTS[method]
    for bal_field in dataclasses.fields(bal):
        name = bal_field.name
        if name != "noise" and getattr(bal, name) is not None and name not in spec.defaults:
            readers = [m for m, other in METHOD_REQUIREMENTS.items() if name in other.defaults]
            problems.append(f"balancing_config.{name} is read by balancing {', '.join(readers) or 'no method'} only; "
                            f"got balancing {method!r}")
    for name in ("alpha", "weight", "mu"):
        value = getattr(bal, name)
        if value is not None and not in_range(value, 0):
            problems.append(f"balancing_config.{name} must be a finite number >= 0 or None; got {value!r}")
    for name, low in (("start_epoch", 0), ("end_epoch", 0), ("entropy_epochs", 0), ("super_epoch", 1)):
        value = getattr(bal, name)
        if value is not None and (not is_int(value) or value < low):
            problems.append(f"balancing_config.{name} must be an integer >= {low} or None; got {value!r}")
    if bal.gamma is not None and not in_range(bal.gamma, 0, strict=True):
        problems.append(f"balancing_config.gamma must be a finite number > 0 or None; got {bal.gamma!r}")
    if bal.momentum is not None and not (in_range(bal.momentum, 0) and bal.momentum < 1):
        problems.append(f"balancing_config.momentum must be a number in [0, 1) or None; got {bal.momentum!r}")
    problem = balancing_problem(method, backbone, modalities)
    if problem:
        problems.append(problem)
    return problems


__all__ = [
    "ADA2I_ALPHA",
    "ADA2I_START_EPOCH",
    "AGM_ALPHA",
    "BUILTIN_REQUIREMENTS",
    "G_BLENDING_SUPER_EPOCH",
    "METHOD_REQUIREMENTS",
    "MMPARETO_GAMMA",
    "OGM_GE_ALPHA",
    "PMR_ALPHA",
    "PMR_MOMENTUM",
    "PMR_MU",
    "PMR_START_EPOCH",
    "UNI_AUX_WEIGHT",
    "BalancingConfig",
    "Default",
    "MethodRequirements",
    "balancing_config_problems",
    "balancing_problem",
    "ogm_ge_end_epoch",
    "pmr_entropy_epochs",
    "register_requirements",
]
