"""Run configuration: one frozen dataclass per concern, a canonical form and the run id.

A run is identified by the short hash of its *resolved* canonical configuration (presets
filled in), so the same experiment always lands in the same directory and a batch can skip
it. Fields marked ``identity=False`` (where the data lives) do not enter the hash: moving
the data does not change the experiment; the dataset's content fingerprint is recorded in
``config.json`` instead.

Overrides address any field by its dotted path, e.g. ``train.lr=3e-4``,
``pacing.normalisation=kept``, ``model.hidden_dim=64`` or
``data.synthetic.informativeness={"t": 1, "a": 0.2, "v": 0.1}``; values are parsed
against the field's type and unknown keys are errors that list the valid ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from spcl_diag.curriculum.arms import ARMS
from spcl_diag.curriculum.pacing import LAMBDA_CAP, spcl_preset
from spcl_diag.data.synthetic import SyntheticConfig
from spcl_diag.errors import ConfigError
from spcl_diag.modalities import parse_modalities
from spcl_diag.models import BACKBONES, backbone_config

BALANCING_METHODS: tuple[str, ...] = ("none", "ogm-ge", "ada2i")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (defaults: SPCL reference, np4s/SPCL)."""

    epochs: int = 50  # training epochs; the best dev epoch is selected
    batch_size: int = 16  # dialogues per training batch
    eval_batch_size: int = 64  # dialogues per evaluation batch (no effect on results)
    lr: float = 2e-4  # Adam learning rate
    weight_decay: float = 1e-8  # Adam L2 weight decay
    clip_norm: float = 2.0  # global L2 gradient-norm clip, applied every step
    matmul_precision: Literal["highest", "high"] = "highest"
    # float32 matrix products: 'highest' = full float32; 'high' lets CUDA use TF32 (10-bit
    # mantissa inputs, about 3x faster products on Ampere and later; results change at ~1e-3).
    # Set process-wide with torch.set_float32_matmul_precision when the run starts.


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

    Defaults per method (see :mod:`spcl_diag.train.balancing`): ``ogm-ge`` alpha 0.5 from
    epoch 0; ``ada2i`` alpha 0.037 (Ada2I, IEMOCAP) from epoch index 3. Epochs are 0-based
    indices; modulation is applied while ``start_epoch <= epoch < end_epoch``.
    """

    alpha: float | None = None  # strength of the tanh modulation; None = the method's default
    start_epoch: int | None = None  # first modulated epoch (0-based); None = the method's default
    end_epoch: int | None = None  # first epoch no longer modulated (0-based); None = never stops
    noise: bool = True  # add Gaussian gradient noise (OGM-GE's GE, Ada2I's enhancement)


@dataclass(frozen=True)
class DataConfig:
    """Where data comes from and how the dev split is chosen."""

    data_dir: str | None = field(default=None, metadata={"identity": False})
    # folder of the shared data (--data-dir, else $SPCL_DIAG_DATA, else ../shared/data)
    dev_split: Literal["fixed", "seeded"] = "fixed"
    # for files without a dev set: 'fixed' = the first dev_fraction of train dialogues (the
    # same for every seed and arm); 'seeded' = a random dev_fraction drawn from the run seed
    dev_fraction: float = 0.1  # share of train dialogues moved to dev when the file has no dev set
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)  # the synthetic benchmark


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
        A gradient balancing method from :data:`BALANCING_METHODS` (``"none"``, ``"ogm-ge"``,
        ``"ada2i"``), tuned by ``balancing_config``. Nothing picks it from the backbone: the
        Ada2I paper's setting is ``backbone="ada2i", balancing="ada2i"``.
    seed
        The run seed; every arm of one seed shares initial weights and batch order.

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

    def __post_init__(self) -> None:
        problems = []
        try:
            object.__setattr__(self, "modalities", parse_modalities(self.modalities))
        except ValueError as err:
            problems.append(str(err))
        if self.backbone not in BACKBONES:
            problems.append(f"unknown backbone {self.backbone!r}; valid backbones are {', '.join(BACKBONES)}")
        else:
            try:
                backbone_config(self.backbone, self.model)
            except (ConfigError, TypeError) as err:
                problems.append(str(err))
        if self.curriculum not in ARMS:
            problems.append(f"unknown curriculum {self.curriculum!r}; valid arms are {', '.join(ARMS)}")
        if self.balancing not in BALANCING_METHODS:
            problems.append(
                f"unknown balancing {self.balancing!r}; valid methods are {', '.join(BALANCING_METHODS)}"
            )
        bal = self.balancing_config
        if bal.alpha is not None and bal.alpha < 0:
            problems.append(f"balancing_config.alpha must be >= 0; got {bal.alpha}")
        if bal.start_epoch is not None and bal.start_epoch < 0:
            problems.append(f"balancing_config.start_epoch must be >= 0; got {bal.start_epoch}")
        if self.train.epochs < 1 or self.train.batch_size < 1:
            problems.append("train.epochs and train.batch_size must be >= 1")
        if self.train.matmul_precision not in ("highest", "high"):
            problems.append(
                f"train.matmul_precision must be 'highest' or 'high'; got {self.train.matmul_precision!r}"
            )
        if self.pacing.normalisation not in ("batch", "kept"):
            problems.append(f"pacing.normalisation must be 'batch' or 'kept'; got {self.pacing.normalisation!r}")
        if not 0 < self.data.dev_fraction < 1:
            problems.append(f"data.dev_fraction must lie in (0, 1); got {self.data.dev_fraction}")
        if problems:
            raise ConfigError("invalid run config:\n  - " + "\n  - ".join(problems))

    # ----------------------------------------------------------------- derived
    def resolved(self) -> RunConfig:
        """This config with the SPCL preset filled into ``pacing.lambda0`` / ``pacing.growth``."""
        lambda0, growth = spcl_preset(self.backbone, self.dataset, self.modalities)
        pacing = dataclasses.replace(
            self.pacing,
            lambda0=self.pacing.lambda0 if self.pacing.lambda0 is not None else lambda0,
            growth=self.pacing.growth if self.pacing.growth is not None else growth,
        )
        return dataclasses.replace(self, pacing=pacing)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def identity(self) -> dict[str, Any]:
        """The resolved config without the fields that do not define the experiment."""
        return _strip_non_identity(self.resolved())

    def run_id(self) -> str:
        """12 hex digits of the SHA-256 of the canonical JSON of :meth:`identity`."""
        canonical = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def paired(self, curriculum: str) -> RunConfig:
        """The same run with another curriculum arm (the paired-design twin)."""
        return dataclasses.replace(self, curriculum=curriculum)

    # -------------------------------------------------------------- construction
    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """Inverse of :meth:`to_dict`; unknown keys are errors."""
        return _build(cls, values, "")

    def with_overrides(self, overrides: list[str] | dict[str, Any]) -> RunConfig:
        """Apply ``key=value`` overrides (dotted keys; values parsed by field type)."""
        items = overrides.items() if isinstance(overrides, dict) else (_split_override(o) for o in overrides)
        values = self.to_dict()
        for key, raw in items:
            _assign(values, type(self), key.split("."), raw, key)
        return RunConfig.from_dict(values)


def _split_override(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {text!r} must look like key=value (e.g. train.lr=3e-4).")
    return key.strip().lstrip("-"), value.strip()


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _assign(values: dict[str, Any], cls: type, path: list[str], raw: Any, key: str) -> None:
    types_ = _field_types(cls)
    name = path[0]
    if name not in types_:
        raise ConfigError(f"unknown setting {key!r}; valid keys here are {', '.join(sorted(types_))}.")
    annotation = types_[name]
    if len(path) == 1:
        values[name] = _parse_value(raw, annotation, key)
    elif isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        _assign(values[name], annotation, path[1:], raw, key)
    elif typing.get_origin(annotation) is dict:  # free-form mapping (model overrides)
        values[name] = dict(values[name])
        values[name][".".join(path[1:])] = _parse_scalar(raw) if isinstance(raw, str) else raw
    else:
        raise ConfigError(f"setting {key!r}: {name!r} has no sub-settings.")


def _parse_scalar(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _parse_value(raw: Any, annotation: Any, key: str) -> Any:
    """Parse ``raw`` (a CLI string or a Python value) against a field annotation."""
    if not isinstance(raw, str):
        return raw
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        if raw.lower() in ("none", "null"):
            return None
        return _parse_value(raw, args[0], key)
    try:
        if annotation is bool:
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return raw.lower() in ("true", "1", "yes")
        if annotation in (int, float):
            return annotation(raw)
        if annotation is str or origin is Literal:
            return raw
        return json.loads(raw)  # dicts, tuples, nested values
    except (ValueError, json.JSONDecodeError):
        raise ConfigError(f"setting {key!r}: cannot read {raw!r} as {annotation}.") from None


def _build(cls: type, values: dict[str, Any], prefix: str) -> Any:
    types_ = _field_types(cls)
    unknown = sorted(set(values) - set(types_))
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(prefix + k for k in unknown)}; valid keys are "
            f"{', '.join(prefix + k for k in sorted(types_))}."
        )
    kwargs = {}
    for name, value in values.items():
        annotation = types_[name]
        if isinstance(annotation, type) and dataclasses.is_dataclass(annotation) and isinstance(value, dict):
            value = _build(annotation, value, f"{prefix}{name}.")
        elif typing.get_origin(annotation) is tuple and isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"invalid settings for {prefix.rstrip('.') or 'run'}: {err}") from None


def _strip_non_identity(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: _strip_non_identity(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if f.metadata.get("identity", True)
        }
    if isinstance(obj, dict):
        return {k: _strip_non_identity(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return [_strip_non_identity(v) for v in obj]
    return obj
