"""Backbones and the registry that builds them by name.

Each entry of :data:`BACKBONES` pairs a backbone class with its hyperparameter dataclass;
:func:`build_backbone` validates overrides against that dataclass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from spcl_diag.errors import ConfigError
from spcl_diag.models.ada2i import Ada2I, Ada2IConfig
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.models.biddin import BiDDIN, BiDDINConfig
from spcl_diag.models.dialogue_gcn import DialogueGCN, DialogueGCNConfig
from spcl_diag.models.late_fusion import LateFusion, LateFusionConfig
from spcl_diag.models.mm_dfn import MMDFN, MMDFNConfig
from spcl_diag.models.mmgcn import MMGCN, MMGCNConfig


@dataclass(frozen=True)
class BackboneSpec:
    """A registered backbone: its class and its hyperparameter dataclass."""

    cls: Callable[..., Backbone]  # (modalities, dims, n_classes, n_speakers, config) -> Backbone
    config: type


BACKBONES: dict[str, BackboneSpec] = {
    "late_fusion": BackboneSpec(LateFusion, LateFusionConfig),
    "dialogue_gcn": BackboneSpec(DialogueGCN, DialogueGCNConfig),
    "mmgcn": BackboneSpec(MMGCN, MMGCNConfig),
    "mm_dfn": BackboneSpec(MMDFN, MMDFNConfig),
    "biddin": BackboneSpec(BiDDIN, BiDDINConfig),
    "ada2i": BackboneSpec(Ada2I, Ada2IConfig),
}


def backbone_config(name: str, overrides: dict[str, Any] | None = None) -> Any:
    """The hyperparameter dataclass of backbone ``name`` with ``overrides`` applied."""
    if name not in BACKBONES:
        raise ConfigError(f"unknown backbone {name!r}; valid backbones are {', '.join(BACKBONES)}.")
    config_cls = BACKBONES[name].config
    valid = {f.name for f in fields(config_cls)}
    unknown = sorted(set(overrides or {}) - valid)
    if unknown:
        raise ConfigError(
            f"unknown model setting(s) {', '.join(unknown)} for backbone {name!r}; "
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


__all__ = ["BACKBONES", "Backbone", "BackboneSpec", "ModelOutput", "backbone_config", "build_backbone"]
