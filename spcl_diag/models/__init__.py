"""Backbones and the registry that builds them by name.

Each entry of :data:`BACKBONES` pairs a backbone class with its hyperparameter dataclass;
:func:`build_backbone` validates overrides against that dataclass. A researcher's own
backbone joins the registry with :func:`register_backbone` and is then used by name exactly
like the built-ins (``RunConfig(backbone="mine")``, ``--model.hidden_dim=24``).

The registry is light: the built-ins' dataclasses live in :mod:`spcl_diag.models.configs`
and their classes (and torch) are imported on first use of :attr:`BackboneSpec.cls`, so run
configs are built and checked without torch (a finished batch re-runs without it).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from spcl_diag.errors import ConfigError
from spcl_diag.models.configs import (
    Ada2IConfig,
    BiDDINConfig,
    DialogueGCNConfig,
    LateFusionConfig,
    MMDFNConfig,
    MMGCNConfig,
)
from spcl_diag.suggest import close_names, did_you_mean, unknown_name

if TYPE_CHECKING:  # pragma: no cover
    from spcl_diag.models.base import Backbone, ModelOutput


@dataclass(frozen=True)
class BackboneSpec:
    """A registered backbone: its class (or ``"module:Class"``, imported on first use) and its hyperparameter dataclass."""

    source: Callable[..., Backbone] | str  # (modalities, dims, n_classes, n_speakers, config) -> Backbone
    config: type
    pure_heads: bool | None = None  # the class's PURE_HEADS, said here so a config check imports no torch

    @property
    def cls(self) -> Callable[..., Backbone]:
        """The backbone class (importing its module, and torch, the first time)."""
        if isinstance(self.source, str):
            module, name = self.source.split(":")
            return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
        return self.source

    def heads_are_pure(self) -> bool:
        """Whether each modality's logits come from that modality alone (``Backbone.PURE_HEADS``).

        Read from :attr:`pure_heads` when the spec says it (the built-ins do), else from the
        class, which imports its module the first time.
        """
        if self.pure_heads is not None:
            return self.pure_heads
        return bool(getattr(self.cls, "PURE_HEADS", True))


BACKBONES: dict[str, BackboneSpec] = {
    "late_fusion": BackboneSpec("spcl_diag.models.late_fusion:LateFusion", LateFusionConfig, pure_heads=True),
    "dialogue_gcn": BackboneSpec("spcl_diag.models.dialogue_gcn:DialogueGCN", DialogueGCNConfig, pure_heads=True),
    "mmgcn": BackboneSpec("spcl_diag.models.mmgcn:MMGCN", MMGCNConfig, pure_heads=False),
    "mm_dfn": BackboneSpec("spcl_diag.models.mm_dfn:MMDFN", MMDFNConfig, pure_heads=False),
    "biddin": BackboneSpec("spcl_diag.models.biddin:BiDDIN", BiDDINConfig, pure_heads=True),
    "ada2i": BackboneSpec("spcl_diag.models.ada2i:Ada2I", Ada2IConfig, pure_heads=False),
}


BUILTIN_BACKBONES: frozenset[str] = frozenset(BACKBONES)


def register_backbone(name: str, cls: type[Backbone], config_cls: type) -> None:
    """Add a backbone to :data:`BACKBONES` so that runs, grids and the CLI can name it.

    Parameters
    ----------
    name
        The name used in ``RunConfig.backbone`` / ``--backbone``. Registering a name again
        replaces the earlier entry (a plugin module imported again after an edit); the six
        built-in names cannot be replaced.
    cls
        A :class:`~spcl_diag.models.base.Backbone` subclass called as
        ``cls(modalities, dims, n_classes, n_speakers, config)`` whose ``forward(batch)``
        returns a :class:`~spcl_diag.models.base.ModelOutput`. Parameters under
        ``self.branches[m]`` count as modality ``m``'s own (gradient norms per modality,
        OGM-GE / Ada2I balancing); all others as shared.
    config_cls
        A frozen dataclass of the backbone's hyperparameters, every field with a default;
        ``model.<field>`` overrides are checked against it and enter the run id.

    Raises
    ------
    ConfigError
        When ``cls`` is not a ``Backbone`` subclass, ``config_cls`` is not a frozen
        dataclass with defaults, or ``name`` is a built-in backbone.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class TinyConfig:
    ...     hidden_dim: int = 8
    >>> from spcl_diag.models.late_fusion import LateFusion
    >>> class Tiny(LateFusion):
    ...     pass
    >>> register_backbone("tiny_doc", Tiny, TinyConfig)
    >>> backbone_config("tiny_doc", {"hidden_dim": 4})
    TinyConfig(hidden_dim=4)
    >>> del BACKBONES["tiny_doc"]  # (keep the registry as it was)
    """
    from spcl_diag.models.base import Backbone

    problems = []
    if not isinstance(name, str) or not name.strip():
        problems.append(f"the backbone name must be a non-empty string; got {name!r}")
    elif name in BUILTIN_BACKBONES:
        problems.append(f"{name!r} is a built-in backbone and cannot be replaced; choose another name")
    if not (isinstance(cls, type) and issubclass(cls, Backbone)):
        problems.append(f"cls must be a subclass of spcl_diag.models.Backbone; got {cls!r}")
    if not (isinstance(config_cls, type) and dataclasses.is_dataclass(config_cls)):
        problems.append(f"config_cls must be a dataclass type; got {config_cls!r}")
    elif not config_cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        problems.append(f"config_cls {config_cls.__name__} must be frozen (@dataclass(frozen=True))")
    else:
        no_default = [f.name for f in fields(config_cls)
                      if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if no_default:
            problems.append(f"every field of {config_cls.__name__} needs a default; missing for {', '.join(no_default)}")
    if problems:
        raise ConfigError(f"register_backbone({name!r}): " + "; ".join(problems) + ".")
    BACKBONES[name] = BackboneSpec(cls, config_cls)


def unknown_backbone(name: str) -> str:
    """Why ``name`` is not a backbone, the closest registered names, and how a plugin adds one (no period).

    Examples
    --------
    >>> print(unknown_backbone("mmgnc").split("?")[0])
    unknown backbone 'mmgnc'; did you mean 'mmgcn'
    """
    return (unknown_name("backbone", name, list(BACKBONES), listed="valid backbones are")
            + "; if a plugin registers it, load the plugin with --plugin FILE (or plugins = [\"FILE\"] "
            "in a config or grid file)")


def backbone_config(name: str, overrides: dict[str, Any] | None = None) -> Any:
    """The hyperparameter dataclass of backbone ``name`` with ``overrides`` applied."""
    if name not in BACKBONES:
        raise ConfigError(unknown_backbone(name) + ".")
    config_cls = BACKBONES[name].config
    valid = {f.name for f in fields(config_cls)}
    unknown = sorted(set(overrides or {}) - valid)
    if unknown:
        close = [match for key in unknown for match in close_names(key, valid)]
        hint = f" ({did_you_mean([f'model.{m}' for m in dict.fromkeys(close)])})" if close else ""
        raise ConfigError(
            f"unknown model setting(s) {', '.join(unknown)} for backbone {name!r}{hint}; "
            f"valid settings are {', '.join(sorted(valid))}."
        )
    return config_cls(**(overrides or {}))


def build_backbone(
    name: str,
    *,
    modalities: str,
    dims: dict[str, int],
    n_classes: int,
    n_speakers: int,
    overrides: dict[str, Any] | None = None,
) -> Backbone:
    """Instantiate backbone ``name`` for the given modalities and data shape."""
    config = backbone_config(name, overrides)
    return BACKBONES[name].cls(modalities, dims, n_classes, n_speakers, config)


def __getattr__(name: str) -> Any:
    """``Backbone`` and ``ModelOutput`` on first use (they import torch)."""
    if name in ("Backbone", "ModelOutput"):
        return getattr(importlib.import_module("spcl_diag.models.base"), name)
    raise AttributeError(f"module 'spcl_diag.models' has no attribute {name!r}")


__all__ = [
    "BACKBONES",
    "BUILTIN_BACKBONES",
    "Backbone",
    "BackboneSpec",
    "ModelOutput",
    "backbone_config",
    "build_backbone",
    "register_backbone",
    "unknown_backbone",
]
