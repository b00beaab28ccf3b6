"""register_backbone: a researcher's Backbone subclass is used by name like the built-ins."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from spcl_diag import RunConfig, load_runs, register_backbone, run
from spcl_diag.errors import ConfigError
from spcl_diag.models import BACKBONES, Backbone, ModelOutput, build_backbone

from ..conftest import TINY


@dataclass(frozen=True)
class PooledConfig:
    hidden_dim: int = 12  # width of each modality's hidden layer
    shared_bias: bool = True  # a parameter outside the branches (counts as shared)


class Pooled(Backbone):
    """Per-modality MLP on each utterance; an optional shared bias on the joint logits."""

    def __init__(self, modalities, dims, n_classes, n_speakers, config=PooledConfig()):
        super().__init__(modalities, n_classes)
        for m in self.modalities:
            self.branches[m] = nn.Sequential(nn.Linear(dims[m], config.hidden_dim), nn.ReLU(),
                                             nn.Linear(config.hidden_dim, n_classes))
        self.bias = nn.Parameter(torch.zeros(n_classes)) if config.shared_bias else None

    def forward(self, batch):
        logits = {m: self.branches[m](batch.flatten(batch.features[m])) for m in self.modalities}
        joint = torch.stack(list(logits.values())).sum(0)
        return ModelOutput(joint=joint + self.bias if self.bias is not None else joint, per_modality=logits)


SMALL = {k: v for k, v in TINY.items() if not k.startswith("model.")}


@pytest.fixture(autouse=True)
def pooled(backbone_registry):
    register_backbone("test_pooled", Pooled, PooledConfig)


@pytest.fixture
def balanced_run(tmp_path):
    config = RunConfig(backbone="test_pooled", curriculum="spcl", balancing="ogm-ge").with_overrides(
        {**SMALL, "model.hidden_dim": 10})
    return run(config, tmp_path, device="cpu"), tmp_path


def test_registered_backbone_gets_per_modality_instrumentation_and_balancing(balanced_run):
    result, out = balanced_run
    assert result.status == "ok", (result.path / "error.txt").read_text()
    epochs = load_runs(out).epochs
    assert set(epochs.query("metric == 'grad_norm'")["scope"]) == {"t", "a", "v", "shared"}
    modulation = epochs.query("metric == 'modulation'")
    assert set(modulation["scope"]) == {"t", "a", "v"} and (modulation["value"] < 1).any()
    assert set(result.result["test"]) == {"joint", "t", "a", "v"}
    assert set(result.result["imbalance"]) >= {"disparity_ratio", "shapley_wf1", "perceptual_score"}


def test_model_overrides_are_checked_and_enter_the_run_id():
    base = RunConfig(backbone="test_pooled").with_overrides(SMALL)
    assert base.with_overrides({"model.hidden_dim": 24}).run_id() != base.run_id()
    model = build_backbone("test_pooled", modalities="ta", dims={"t": 4, "a": 3}, n_classes=2, n_speakers=1,
                           overrides={"hidden_dim": 24, "shared_bias": False})
    assert model.branches["t"][0].out_features == 24 and not model.parameter_groups()["shared"]
    with pytest.raises(ConfigError, match="unknown model setting.*depth.*valid settings are hidden_dim, shared_bias"):
        base.with_overrides({"model.depth": 3})


def test_register_backbone_refuses_what_it_cannot_use(backbone_registry):
    @dataclass
    class Mutable:
        width: int = 3

    @dataclass(frozen=True)
    class NoDefault:
        width: int

    with pytest.raises(ConfigError, match="built-in backbone"):
        register_backbone("mmgcn", Pooled, PooledConfig)
    with pytest.raises(ConfigError, match="subclass of spcl_diag.models.Backbone"):
        register_backbone("bad", nn.Linear, PooledConfig)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="must be frozen"):
        register_backbone("bad", Pooled, Mutable)
    with pytest.raises(ConfigError, match="needs a default; missing for width"):
        register_backbone("bad", Pooled, NoDefault)
    assert "bad" not in BACKBONES


def test_the_builtin_specs_say_what_their_classes_say_of_their_heads():
    from spcl_diag.models import BUILTIN_BACKBONES

    for name in BUILTIN_BACKBONES:
        spec = BACKBONES[name]
        assert spec.pure_heads is not None, f"{name}: say pure_heads in its spec, so config checks need no torch"
        assert spec.heads_are_pure() == spec.cls.PURE_HEADS, name


def test_a_registered_backbone_s_heads_are_read_from_its_class(backbone_registry):
    from spcl_diag.models.late_fusion import LateFusion, LateFusionConfig

    class Mixed(LateFusion):
        PURE_HEADS = False

    register_backbone("mixed_heads", Mixed, LateFusionConfig)
    assert backbone_registry["mixed_heads"].heads_are_pure() is False
    with pytest.raises(ConfigError, match="cannot train backbone 'mixed_heads'"):
        RunConfig(backbone="mixed_heads", balancing="pmr").resolved()
