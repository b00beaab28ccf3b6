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

from spcl_diag._deprecation import moved
from spcl_diag.config.balancing import (
    BUILTIN_REQUIREMENTS,
    BalancingConfig,
    balancing_config_problems,
)
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

# The built-in balancing methods, for the command line's choices; the requirements of every method
# (plugins' included), what each needs and reads, are spcl_diag.config.balancing.METHOD_REQUIREMENTS.
BALANCING_METHODS: tuple[str, ...] = tuple(requirements.name for requirements in BUILTIN_REQUIREMENTS)
CLASS_WEIGHTS: tuple[str, ...] = ("none", "balanced")
MATMUL_PRECISIONS: tuple[str, ...] = ("highest", "high")
OPTIMIZERS: tuple[str, ...] = ("adam", "adamw", "sgd")  # see spcl_diag.train.optimisation.make_optimizer
SCHEDULERS: tuple[str, ...] = ("none", "cosine", "step", "plateau")  # see spcl_diag.train.optimisation.LearningRates
SEED_ROLES: tuple[str, ...] = ("", "tune", "eval")  # see spcl_diag.batch.tune


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
        A balancing method from :data:`spcl_diag.config.balancing.METHOD_REQUIREMENTS` (built in:
        ``"none"``, ``"ogm-ge"``, ``"ada2i"``, ``"uni-aux"``, ``"g-blending"``, ``"pmr"``,
        ``"agm"``, ``"mmpareto"``), tuned by ``balancing_config``; a method refused for the backbone or modality set
        (:func:`~spcl_diag.config.balancing.balancing_problem`) is a config error. Nothing picks it from the backbone: the
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
        problems += balancing_config_problems(self.balancing, self.balancing_config, self.backbone, self.modalities)
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


def __getattr__(name: str) -> Any:
    if name == "balancing_problem":  # the balancing concern has its own module (issue 26)
        return moved(__name__, name, ("spcl_diag.config.balancing",))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
