"""Run configuration: one frozen dataclass per concern, a canonical form and the run id.

A run is identified by the short hash of its *resolved* canonical configuration (presets
filled in) plus the content hash of its data file (:mod:`spcl_diag.config.identity`), so the
same experiment always lands in the same directory and a batch can skip it. Fields marked
``identity=False`` (where the data lives) do not enter the hash: moving the data does not
change the experiment, editing it does.

Every value is checked when the config is built (types, ranges); all problems are raised
together as one :class:`~spcl_diag.errors.ConfigError` that names each key and the values it
accepts. This module imports no torch: the command line reads configs before it trains.

Overrides address any field by its dotted path, e.g. ``train.lr=3e-4``,
``pacing.normalisation=kept``, ``model.hidden_dim=64`` or
``data.synthetic.informativeness={"t": 1, "a": 0.2, "v": 0.1}``; values are parsed
against the field's type and unknown keys are errors that list the valid ones.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Literal

from spcl_diag.config.settings import (
    IF_CHANGED,
    assign,
    build,
    in_range,
    is_int,
    problem_text,
    split_override,
    strip_non_identity,
)
from spcl_diag.curriculum.names import ARMS, unknown_arm_problem
from spcl_diag.curriculum.pacing import LAMBDA_CAP, spcl_preset
from spcl_diag.data.config import DataConfig
from spcl_diag.errors import ConfigError
from spcl_diag.modalities import parse_modalities
from spcl_diag.models import BACKBONES, backbone_config, unknown_backbone
from spcl_diag.plugins import load_plugins, plugin_sources
from spcl_diag.suggest import unknown_name

# The built-in balancing methods, for the command line's choices; the registry of every method
# (plugins' included), with what each needs and reads, is spcl_diag.train.balancing.METHODS.
BALANCING_METHODS: tuple[str, ...] = ("none", "ogm-ge", "ada2i", "uni-aux", "g-blending", "pmr", "agm", "mmpareto")
CLASS_WEIGHTS: tuple[str, ...] = ("none", "balanced")
MATMUL_PRECISIONS: tuple[str, ...] = ("highest", "high")
OPTIMIZERS: tuple[str, ...] = ("adam", "adamw", "sgd")  # see spcl_diag.train.optimisation.make_optimizer
SCHEDULERS: tuple[str, ...] = ("none", "cosine", "step", "plateau")  # see spcl_diag.train.optimisation.LearningRates
SEED_ROLES: tuple[str, ...] = ("", "tune", "eval")  # see spcl_diag.batch.tune


def balancing_problem(method: str, backbone: str, modalities: str) -> str | None:
    """Why ``method`` cannot train ``backbone`` on ``modalities``, in one sentence, or ``None``.

    Reads the method's spec (:data:`spcl_diag.train.balancing.METHODS`): its least number of
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
    from spcl_diag.train.balancing import (
        METHODS,  # imports torch: only when a balancing method is checked
    )

    spec = METHODS[method]
    if len(modalities) < spec.min_modalities:
        return (f"balancing {method!r} cannot train on the single modality {modalities!r}: it balances "
                f"modalities against each other and needs at least {spec.min_modalities} modalities")
    if spec.needs_pure_heads and backbone in BACKBONES and not getattr(BACKBONES[backbone].cls, "PURE_HEADS", True):
        pure = [name for name, other in METHODS.items() if name != "none" and not other.needs_pure_heads]
        return (f"balancing {method!r} cannot train backbone {backbone!r}: it needs pure per-modality "
                f"heads (logits of each modality computed from that modality alone), and {backbone}'s "
                f"heads are mixed across modalities; use {', '.join(pure)} with this backbone")
    return None


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (defaults: SPCL reference, np4s/SPCL)."""

    epochs: int = 50  # training epochs; the best dev epoch is selected
    batch_size: int = 16  # dialogues per training batch
    eval_batch_size: int = 64  # dialogues per evaluation batch (no effect on results)
    lr: float = 2e-4  # Adam learning rate
    weight_decay: float = 1e-8  # Adam L2 weight decay
    clip_norm: float = 2.0  # global L2 gradient-norm clip, applied every step
    class_weights: Literal["none", "balanced"] = "none"
    # joint-loss weight per class: 'balanced' = n / (C n_c) over the train split (inverse
    # frequency); the SPCL difficulty always uses the unweighted loss
    checkpoint: bool = field(default=True, metadata={"identity": False})
    # save the selected epoch's weights as model.pt (no effect on results)
    matmul_precision: Literal["highest", "high"] = "highest"
    # float32 matrix products: 'highest' = full float32; 'high' lets CUDA use TF32 (10-bit
    # mantissa inputs, about 3x faster products on Ampere and later; results change at ~1e-3).
    # Set process-wide with torch.set_float32_matmul_precision when the run starts.
    # The four settings below enter the run id only when they differ from their defaults (today's
    # training), so runs that do not use them keep their ids; spcl_diag.train.optimisation and
    # spcl_diag.train.epoch (ArmLedger: early stopping) say how each acts.
    optimizer: Literal["adam", "adamw", "sgd"] = field(default="adam", metadata={"identity": IF_CHANGED})
    # 'adam' (reference; lr and weight_decay as above), 'adamw' (decoupled weight decay), 'sgd'
    # (momentum 0.9); see spcl_diag.train.optimisation.make_optimizer
    scheduler: Literal["none", "cosine", "step", "plateau"] = field(default="none", metadata={"identity": IF_CHANGED})
    # learning rate per epoch: 'none' (constant, reference), 'cosine' (to 0 over train.epochs), 'step'
    # (x0.1 at 50% and 75% of the epochs), 'plateau' (x0.1 after 10 epochs without a better dev score)
    patience: int = field(default=0, metadata={"identity": IF_CHANGED})
    # early stopping: stop after this many epochs without a better dev selection score; 0 = never.
    # A paced arm (random, anti) trains exactly its spcl twin's epochs instead
    grad_accumulation: int = field(default=1, metadata={"identity": IF_CHANGED})
    # batches whose gradients are averaged into one update (an effective batch of batch_size x this)


@dataclass(frozen=True)
class PacingConfig:
    """Self-paced threshold settings; ``None`` takes the SPCL preset for the run."""

    lambda0: float | None = None  # initial threshold lambda_0 on the difficulty d
    growth: float | None = None  # factor applied to lambda after every epoch
    cap: float = LAMBDA_CAP  # lambda never exceeds this
    normalisation: Literal["batch", "kept"] = "batch"  # loss divisor: N (reference) or max(1, kept)


@dataclass(frozen=True)
class BalancingConfig:
    """Settings of the gradient balancing method (``RunConfig.balancing``); ``None`` = its default.

    Every method's defaults and the source of each value are in its spec,
    :data:`spcl_diag.train.balancing.METHODS` (and the table of methods in docs/methods.md). Epochs are
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
class RunConfig:
    """Everything that defines one training run.

    Parameters
    ----------
    dataset
        A benchmark name (``synthetic``) or a feature file path.
    backbone
        A name from :data:`spcl_diag.models.BACKBONES`.
    modalities
        A modality set such as ``"tav"`` or ``"av"``.
    curriculum
        An arm from :data:`spcl_diag.curriculum.arms.ARMS`.
    balancing
        A balancing method from :data:`spcl_diag.train.balancing.METHODS` (built in:
        ``"none"``, ``"ogm-ge"``, ``"ada2i"``, ``"uni-aux"``, ``"g-blending"``, ``"pmr"``,
        ``"agm"``, ``"mmpareto"``), tuned by ``balancing_config``; a method refused for the backbone or modality set
        (:func:`balancing_problem`) is a config error. Nothing picks it from the backbone: the
        Ada2I paper's setting is ``backbone="ada2i", balancing="ada2i"``.
    seed
        The run seed; every arm of one seed shares initial weights and batch order.
    seed_role
        ``"tune"`` for a run whose seed chose a configuration, ``"eval"`` for a run on a
        fresh seed that evaluates the choice (:mod:`spcl_diag.batch.tune`), ``""`` otherwise;
        :func:`~spcl_diag.stats.compare` refuses to mix ``tune`` and ``eval`` runs.
    plugins
        Modules imported before the config is checked (see :mod:`spcl_diag.plugins`), e.g.
        one that registers its own backbone; a hash of their source enters the run id.

    Examples
    --------
    >>> config = RunConfig(curriculum="spcl", seed=3).with_overrides(["train.epochs=5"])
    >>> config.train.epochs, len(config.run_id())
    (5, 12)
    >>> config.run_id() == RunConfig.from_dict(config.to_dict()).run_id()
    True
    """

    dataset: str = "synthetic"
    backbone: str = "late_fusion"
    modalities: str = "tav"
    curriculum: str = "none"
    balancing: str = "none"
    seed: int = 0
    train: TrainConfig = field(default_factory=TrainConfig)
    pacing: PacingConfig = field(default_factory=PacingConfig)
    balancing_config: BalancingConfig = field(default_factory=BalancingConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: dict[str, Any] = field(default_factory=dict)  # backbone hyperparameter overrides
    seed_role: str = ""  # "" (plain run), "tune" (seed used to choose a config) or "eval" (fresh seed)
    plugins: tuple[str, ...] = field(default=(), metadata={"identity": False})
    # modules imported first (they register backbones); their source hash is in identity()

    def __post_init__(self) -> None:
        object.__setattr__(self, "plugins", (self.plugins,) if isinstance(self.plugins, str) else tuple(self.plugins))
        load_plugins(self.plugins)  # before the checks: a plugin may register the backbone
        problems = []
        try:
            object.__setattr__(self, "modalities", parse_modalities(self.modalities))
        except (ValueError, TypeError) as err:
            problems.append(str(err))
        if not is_int(self.seed) or self.seed < 0:
            problems.append(f"seed must be an integer >= 0; got {self.seed!r}")
        if self.backbone not in BACKBONES:
            problems.append(unknown_backbone(self.backbone))
        else:
            try:
                problems += _model_problems(backbone_config(self.backbone, self.model))
            except (ConfigError, TypeError) as err:
                problems.append(str(err).removesuffix("."))
        if self.curriculum not in ARMS:
            problems.append(unknown_arm_problem(self.curriculum))
        problems += _balancing_problems(self)
        train = self.train
        for name in ("epochs", "batch_size", "eval_batch_size"):
            value = getattr(train, name)
            if not is_int(value) or value < 1:
                problems.append(f"train.{name} must be a positive integer; got {value!r}")
        if not in_range(train.lr, 0, strict=True):
            problems.append(f"train.lr must be a finite number > 0; got {train.lr!r}")
        if not in_range(train.weight_decay, 0):
            problems.append(f"train.weight_decay must be a finite number >= 0; got {train.weight_decay!r}")
        if not in_range(train.clip_norm, 0, strict=True):
            problems.append(f"train.clip_norm must be a finite number > 0; got {train.clip_norm!r}")
        for name, choices in (("optimizer", OPTIMIZERS), ("scheduler", SCHEDULERS)):
            if getattr(train, name) not in choices:
                problems.append(f"train.{name} must be one of {', '.join(map(repr, choices))}; got {getattr(train, name)!r}")
        if not is_int(train.patience) or train.patience < 0:
            problems.append(f"train.patience must be an integer >= 0 (0: no early stopping); got {train.patience!r}")
        if not is_int(train.grad_accumulation) or train.grad_accumulation < 1:
            problems.append(f"train.grad_accumulation must be a positive integer (1: no accumulation); "
                            f"got {train.grad_accumulation!r}")
        if self.pacing.lambda0 is not None and not in_range(self.pacing.lambda0, 0):
            problems.append(f"pacing.lambda0 must be a finite number >= 0 or None (the SPCL preset); got {self.pacing.lambda0!r}")
        if self.pacing.growth is not None and not in_range(self.pacing.growth, 0, strict=True):
            problems.append(f"pacing.growth must be a finite number > 0 or None (the SPCL preset); got {self.pacing.growth!r}")
        if not in_range(self.pacing.cap, 0, strict=True):
            problems.append(f"pacing.cap must be a finite number > 0; got {self.pacing.cap!r}")
        if self.train.class_weights not in CLASS_WEIGHTS:
            problems.append(
                f"train.class_weights must be one of {', '.join(map(repr, CLASS_WEIGHTS))}; got {self.train.class_weights!r}"
            )
        if self.train.matmul_precision not in MATMUL_PRECISIONS:
            problems.append(
                f"train.matmul_precision must be one of {', '.join(map(repr, MATMUL_PRECISIONS))}; "
                f"got {self.train.matmul_precision!r}"
            )
        if self.pacing.normalisation not in ("batch", "kept"):
            problems.append(f"pacing.normalisation must be 'batch' or 'kept'; got {self.pacing.normalisation!r}")
        if self.seed_role not in SEED_ROLES:
            problems.append(f"seed_role must be one of {', '.join(map(repr, SEED_ROLES))}; got {self.seed_role!r}")
        if self.data.dev_split not in ("fixed", "seeded"):
            problems.append(f"data.dev_split must be 'fixed' or 'seeded'; got {self.data.dev_split!r}")
        if not in_range(self.data.dev_fraction, 0, 1, strict=True):
            problems.append(f"data.dev_fraction must lie in (0, 1); got {self.data.dev_fraction!r}")
        if problems:
            raise ConfigError(problem_text("invalid run config", problems))

    # ----------------------------------------------------------------- derived
    def resolved(self) -> RunConfig:
        """This config with every default made explicit: the SPCL preset and the backbone's fields.

        ``pacing.lambda0`` / ``pacing.growth`` get the SPCL preset, whose dataset family
        (IEMOCAP or MELD) is read from the data's class names, not from its path
        (:func:`spcl_diag.data.registry.dataset_family`); ``model`` gets every field of the
        backbone's hyperparameter dataclass, overrides applied, so that ``config.json`` and
        ``--write-config`` record the whole experiment. Neither changes the run id
        (:meth:`identity` keeps only the model fields that differ from the backbone's defaults).
        """
        config = self
        if self.pacing.lambda0 is None or self.pacing.growth is None:
            from spcl_diag.data.registry import dataset_family

            lambda0, growth = spcl_preset(self.backbone, dataset_family(self.dataset, self.data), self.modalities)
            pacing = dataclasses.replace(
                self.pacing,
                lambda0=self.pacing.lambda0 if self.pacing.lambda0 is not None else lambda0,
                growth=self.pacing.growth if self.pacing.growth is not None else growth,
            )
            config = dataclasses.replace(config, pacing=pacing)
        model = _model_fields(self.backbone, self.model)
        if model != self.model:
            config = dataclasses.replace(config, model=model)
        return config

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def identity(self) -> dict[str, Any]:
        """The resolved config without the fields that do not define the experiment.

        With plugins, ``plugins`` maps each plugin to the hash of its source, so that an
        edited plugin is a new experiment.
        """
        identity = strip_non_identity(self.resolved())
        defaults = _model_fields(self.backbone, {})
        identity["model"] = {k: v for k, v in identity["model"].items() if defaults.get(k, _NO_DEFAULT) != v}
        if self.plugins:
            identity["plugins"] = plugin_sources(self.plugins)
        return identity

    def run_id(self) -> str:
        """12 hex digits of the SHA-256 of :meth:`identity` and the data's content hash.

        See :mod:`spcl_diag.config.identity`, the one place that says what enters the id.
        """
        from spcl_diag.config.identity import identity_payload, payload_run_id

        return payload_run_id(identity_payload(self))

    def paired(self, curriculum: str) -> RunConfig:
        """The same run with another curriculum arm (the paired-design twin)."""
        return dataclasses.replace(self, curriculum=curriculum)

    # -------------------------------------------------------------- construction
    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """Inverse of :meth:`to_dict`; unknown keys are errors."""
        return build(cls, values, "")

    def with_overrides(self, overrides: list[str] | dict[str, Any]) -> RunConfig:
        """Apply ``key=value`` overrides (dotted keys; values parsed by field type)."""
        items = overrides.items() if isinstance(overrides, dict) else (split_override(o) for o in overrides)
        values = self.to_dict()
        for key, raw in items:
            assign(values, type(self), key.split("."), raw, key)
        return RunConfig.from_dict(values)


def _balancing_problems(config: RunConfig) -> list[str]:
    """The problems of ``config.balancing`` and ``config.balancing_config`` (read from the method's spec)."""
    bal = config.balancing_config
    if config.balancing == "none" and all(getattr(bal, f.name) is None for f in dataclasses.fields(bal)
                                          if f.name != "noise"):
        return []  # nothing to check, and the registry (which imports torch) stays unread
    from spcl_diag.train.balancing import METHODS  # torch: only once a config is built

    if config.balancing not in METHODS:
        return [unknown_name("balancing", config.balancing, list(METHODS), listed="valid methods are")]
    problems = []
    spec = METHODS[config.balancing]
    for bal_field in dataclasses.fields(bal):
        name = bal_field.name
        if name != "noise" and getattr(bal, name) is not None and name not in spec.defaults:
            readers = [m for m, other in METHODS.items() if name in other.defaults]
            problems.append(f"balancing_config.{name} is read by balancing {', '.join(readers) or 'no method'} only; "
                            f"got balancing {config.balancing!r}")
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
    problem = balancing_problem(config.balancing, config.backbone, config.modalities)
    if problem:
        problems.append(problem)
    return problems


_NO_DEFAULT = object()


def _model_fields(backbone: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Every field of ``backbone``'s hyperparameter dataclass with ``overrides`` applied, as JSON values."""
    return json.loads(json.dumps(dataclasses.asdict(backbone_config(backbone, overrides))))


def _model_problems(model_config: Any) -> list[str]:
    """Widths, depths and head counts must be positive integers; dropout rates lie in [0, 1)."""
    problems = []
    for f in dataclasses.fields(model_config):
        value = getattr(model_config, f.name)
        if isinstance(value, bool):
            continue
        if isinstance(value, numbers.Integral) and value < 1:
            problems.append(f"model.{f.name} must be a positive integer; got {value!r}")
        elif isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
            if "drop" in f.name and not in_range(value, 0, 1):
                problems.append(f"model.{f.name} must lie in [0, 1); got {value!r}")
            elif not math.isfinite(value):
                problems.append(f"model.{f.name} must be a finite number; got {value!r}")
    return problems


