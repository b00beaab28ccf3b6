"""The output contract, padding invariance and gradient flow of every registered backbone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spcl_diag.data.batching import DeviceSplit
from spcl_diag.modalities import MODALITY_SETS
from spcl_diag.models import BACKBONES, BUILTIN_BACKBONES, build_backbone

from .conftest import TINY_MODELS

NAMES = sorted(BACKBONES)


def _build(name, dataset, modalities, seed=0):
    torch.manual_seed(seed)
    return build_backbone(
        name, modalities=modalities, dims=dataset.dims, n_classes=dataset.n_classes,
        n_speakers=dataset.n_speakers, overrides=TINY_MODELS[name],
    )


def _batch(split, order):
    return next(split.batches(np.asarray(order), len(order)))


def test_every_backbone_has_tiny_settings():
    assert set(TINY_MODELS) == BUILTIN_BACKBONES


@pytest.mark.parametrize("name", NAMES)
def test_output_shapes_for_every_modality_set(name, small_dataset):
    split = DeviceSplit(small_dataset, "train", "cpu")
    batch = _batch(split, [0, 1, 2])
    for modalities in MODALITY_SETS:
        model = _build(name, small_dataset, modalities).eval()
        with torch.no_grad():
            out = model(batch)
        N, C = batch.n_utterances, small_dataset.n_classes
        assert out.joint.shape == (N, C)
        assert sorted(out.per_modality) == sorted(modalities)
        assert all(z.shape == (N, C) for z in out.per_modality.values())
        assert torch.isfinite(out.joint).all()
        if name != "ada2i":  # Ada2I's joint logits are its own sum of cosine heads, checked below
            torch.testing.assert_close(out.joint, sum(out.per_modality.values()))


@pytest.mark.parametrize("name", NAMES)
def test_pure_heads_is_declared(name):
    assert isinstance(BACKBONES[name].cls.PURE_HEADS, bool)
    doc = BACKBONES[name].cls.__doc__ or ""
    assert "References" in doc and ("pure" in doc or "mixed" in doc)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("modalities", ["tav", "av"])
def test_padding_and_batch_composition_do_not_change_outputs(name, modalities, small_dataset):
    split = DeviceSplit(small_dataset, "train", "cpu")
    short = [int(i) for i in np.argsort(split.lengths)[:2]]
    longest = [int(i) for i in np.argsort(split.lengths)[-3:]]
    model = _build(name, small_dataset, modalities).eval()
    alone, padded = _batch(split, short), _batch(split, [*short, *longest])
    assert padded.max_length > alone.max_length
    n = alone.n_utterances
    with torch.no_grad():
        a, b = model(alone), model(padded)
    torch.testing.assert_close(b.joint[:n], a.joint, atol=1e-5, rtol=1e-4)
    for m in modalities:
        torch.testing.assert_close(b.per_modality[m][:n], a.per_modality[m], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("modalities", ["tav", "tv", "a"])
def test_every_active_modality_receives_gradient(name, modalities, small_dataset):
    split = DeviceSplit(small_dataset, "train", "cpu")
    batch = _batch(split, [0, 1, 2, 3])
    model = _build(name, small_dataset, modalities).train()
    out = model(batch)
    loss = F.cross_entropy(out.joint, batch.labels)
    if out.auxiliary_loss is not None:
        loss = loss + out.auxiliary_loss
    loss.backward()
    groups = model.parameter_groups()
    for m in modalities:
        assert groups[m], f"{name}: no parameters for modality {m}"
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in groups[m])
    silent = [n for n, p in model.named_parameters() if p.grad is None]
    assert not silent, f"{name}/{modalities}: parameters without gradient: {silent}"


def test_ada2i_mapping_loss_only_in_training(small_dataset):
    split = DeviceSplit(small_dataset, "train", "cpu")
    batch = _batch(split, [0, 1])
    model = _build("ada2i", small_dataset, "tav")
    assert model.train()(batch).auxiliary_loss is not None
    with torch.no_grad():
        out = model.eval()(batch)
    assert out.auxiliary_loss is None
    # Cosine heads: |z_m - b/M| <= 1.
    bias = model.amw_bias / 3
    for z in out.per_modality.values():
        assert (z - bias).abs().max() <= 1 + 1e-5
