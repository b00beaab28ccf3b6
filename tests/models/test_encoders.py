"""The packed context encoder against torch's padded Transformer encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spcl_diag.data.batching import DeviceSplit
from spcl_diag.models.encoders import ContextEncoder, dropout_add, masked_attention, uniform_dropout


def _batch(dataset):
    split = DeviceSplit(dataset, "train", "cpu")
    return next(split.batches(np.arange(min(6, split.n_dialogues)), 6))


@pytest.mark.parametrize("n_layers", [1, 2])
def test_packed_encoder_equals_padded_torch_encoder_in_eval(small_dataset, n_layers):
    torch.manual_seed(0)
    batch = _batch(small_dataset)
    assert not bool(batch.mask.all()), "the batch must contain padding for this test to mean anything"
    encoder = ContextEncoder(batch.features["t"].shape[-1], 8, n_layers=n_layers, feedforward=32, n_heads=2).eval()
    x = batch.features["t"]
    with torch.no_grad():
        packed = encoder(x, batch)
        padded = encoder.project(encoder.encoder(x, src_key_padding_mask=~batch.mask))
    torch.testing.assert_close(packed, batch.flatten(padded), atol=1e-5, rtol=1e-5)


def test_packed_encoder_ignores_padding_values_and_trains(small_dataset):
    torch.manual_seed(0)
    batch = _batch(small_dataset)
    encoder = ContextEncoder(batch.features["a"].shape[-1], 8, feedforward=32, n_heads=1, dropout=0.3)
    noisy = batch.features["a"].masked_fill(~batch.mask.unsqueeze(-1), 1e3)  # garbage at the padding
    encoder.eval()
    with torch.no_grad():
        torch.testing.assert_close(encoder(noisy, batch), encoder(batch.features["a"], batch))
    encoder.train()
    out = encoder(batch.features["a"], batch)
    assert out.shape == (batch.n_utterances, 8)
    out.square().sum().backward()
    assert all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in encoder.parameters())


def _attention_inputs():
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 2, 5, 4, generator=generator) for _ in range(3))
    keys_real = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)[:, None, None, :]
    return q, k, v, keys_real


def test_masked_attention_dropout_is_unbiased_and_never_attends_to_padding():
    q, k, v, keys_real = _attention_inputs()
    exact = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=keys_real)
    torch.manual_seed(0)
    draws = torch.stack([masked_attention(q, k, v, keys_real, 0.3, True) for _ in range(4000)])
    # E[drop_p(w)] = w, so the mean output converges to attention without dropout.
    torch.testing.assert_close(draws.mean(0), exact, atol=0.03, rtol=0)
    garbage = v.clone()
    garbage[0, :, 3:] = 1e6  # values at the padded keys of dialogue 0
    torch.manual_seed(1)
    clean = masked_attention(q, k, v, keys_real, 0.3, True)
    torch.manual_seed(1)
    torch.testing.assert_close(masked_attention(q, k, garbage, keys_real, 0.3, True), clean)


def test_masked_attention_without_dropout_is_the_fused_kernel():
    q, k, v, keys_real = _attention_inputs()
    exact = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=keys_real)
    torch.testing.assert_close(masked_attention(q, k, v, keys_real, 0.3, False), exact)
    torch.testing.assert_close(masked_attention(q, k, v, keys_real, 0.0, True), exact)


def test_cpu_dropouts_draw_the_documented_masks():
    """``x * keep / (1 - p)`` with ``keep = uniform >= p`` from the global stream.

    Bit for bit; the residual sum too at p = 0.5 (an exact scale), to rounding otherwise
    (``addcmul`` may fuse the multiply and the add).
    """
    x, y = torch.randn(2, 5, 33)
    for p in (0.4, 0.5):
        torch.manual_seed(3)
        keep = (torch.rand_like(y) >= p).to(y.dtype) / (1 - p)
        torch.manual_seed(3)
        assert torch.equal(uniform_dropout(y, p, True), y * keep)
        torch.manual_seed(3)
        summed = dropout_add(x, y, p, True)
        if p == 0.5:
            assert torch.equal(summed, x + y * keep)
        torch.testing.assert_close(summed, x + y * keep, rtol=1e-6, atol=1e-6)
    assert torch.equal(dropout_add(x, y, 0.4, False), x + y)
