"""Context encoders shared by several backbones."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from spcl_diag.data.batching import Batch


def reference_head_count(width: int) -> int:
    """Attention heads used by the SPCL reference encoders for a feature width.

    The smallest integer in ``5..14`` that divides ``width``, else 1 (text 768 -> 6,
    IEMOCAP audio 512 -> 8, MELD audio 300 -> 5).

    Examples
    --------
    >>> [reference_head_count(w) for w in (768, 512, 1024, 300, 342, 7)]
    [6, 8, 8, 5, 6, 7]
    >>> reference_head_count(17)
    1
    """
    return next((h for h in range(5, 15) if width % h == 0), 1)


def uniform_dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Inverted dropout, ``x * keep / (1 - p)`` with ``keep ~ Bernoulli(1 - p)``, as ``F.dropout``.

    On CPU the keep mask is drawn as ``uniform >= p``: torch's CPU ``bernoulli_`` is about three
    times slower than ``uniform_``, and this halves the cost of dropout in a training step of the
    encoders (measured on 2 cores, torch 2.13). Other devices use ``F.dropout``, fused there.
    """
    if not training or p == 0.0 or x.device.type != "cpu":
        return F.dropout(x, p, training)
    return x * _keep_scale(x, p)


def _keep_scale(x: Tensor, p: float) -> Tensor:
    """``keep / (1 - p)`` with ``keep = (uniform >= p)``, drawn in place in one float tensor like ``x``."""
    return torch.rand_like(x).ge_(p).mul_(1.0 / (1.0 - p))


def dropout_add(x: Tensor, y: Tensor, p: float, training: bool) -> Tensor:
    """``x + uniform_dropout(y, p, training)``, on CPU in training as one ``addcmul`` (no separate sum pass)."""
    if not training or p == 0.0 or y.device.type != "cpu":
        return x + F.dropout(y, p, training)
    return torch.addcmul(x, y, _keep_scale(y, p))


def masked_attention(q: Tensor, k: Tensor, v: Tensor, keys_real: Tensor, p: float, training: bool) -> Tensor:
    r"""Scaled dot-product attention over real keys, with dropout ``p`` on the attention weights.

    .. math:: \operatorname{drop}_p\bigl(\operatorname{softmax}(q k^\top / \sqrt{d} + M)\bigr)\, v,
              \quad M_{ij} = 0 \text{ if key } j \text{ is real, else } -\infty

    ``q``, ``k``, ``v`` ``[B, H, L, d]``, ``keys_real`` bool ``[B, 1, 1, L]``. This is what
    ``F.scaled_dot_product_attention(..., dropout_p=p)`` computes; on CPU in training it is
    written out so that the dropout mask is drawn by :func:`uniform_dropout` (torch's CPU
    attention draws it with ``bernoulli_``, 3.6-4.9 % of a training step). Elsewhere, and
    without dropout, it calls the fused kernel, except inside ``torch.func.vmap`` (stacked
    arms, :mod:`spcl_diag.train.stacked`): the fused kernels have no batching rule there and
    would run once per stacked model.
    """
    fused = not training or p == 0.0 or q.device.type != "cpu"
    if fused and not torch._C._functorch.is_batchedtensor(q):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=keys_real, dropout_p=p if training else 0.0)
    scores = (q @ k.transpose(-2, -1)).mul_(q.shape[-1] ** -0.5)  # [B, H, L, L]
    weights = scores.masked_fill_(~keys_real, float("-inf")).softmax(dim=-1)
    return uniform_dropout(weights, p, training) @ v


class ContextEncoder(nn.Module):
    """Post-norm Transformer encoder at the raw feature width, then ``Linear(d_m -> h)``.

    As in the SPCL reference (feed-forward 2048, ReLU, dropout ``p``, no positional
    encoding) but with a padding mask, so outputs do not depend on batch composition.

    The parameters are those of :class:`torch.nn.TransformerEncoderLayer` (same names and
    initialisation), but the computation is packed: every per-utterance operation (the
    attention projections, the feed-forward block, the layer norms and their dropouts) runs on
    the ``N`` real utterances only, and only the attention itself sees the padded
    ``[B, L]`` grid. With dialogue lengths as in IEMOCAP and MELD, batches of 16 dialogues are
    61 % and 48 % real, so packing skips 39 % and 52 % of the encoder's arithmetic. In
    evaluation mode the output equals that of ``nn.TransformerEncoder`` with
    ``src_key_padding_mask`` at the real utterances.

    Parameters
    ----------
    width
        Input feature width ``d_m``.
    hidden
        Output width ``h``.
    n_layers
        Encoder layers ``n``.
    dropout
        Dropout ``p``.
    feedforward
        Feed-forward width (2048 in the reference).
    n_heads
        Attention heads; :func:`reference_head_count` when ``None``.
    """

    def __init__(
        self,
        width: int,
        hidden: int,
        *,
        n_layers: int = 2,
        dropout: float = 0.5,
        feedforward: int = 2048,
        n_heads: int | None = None,
    ):
        super().__init__()
        layer = nn.TransformerEncoderLayer(
            d_model=width,
            nhead=n_heads or reference_head_count(width),
            dim_feedforward=feedforward,
            dropout=dropout,
            batch_first=True,
        )
        # Holds the layers' parameters; forward() below computes them packed.
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.project = nn.Linear(width, hidden)

    def forward(self, x: Tensor, batch: Batch) -> Tensor:
        """``x`` ``[B, L, d_m]`` (padded as ``batch``) -> ``[N, h]``, the real utterances in batch order."""
        flat = batch.flatten(x)  # [N, d_m]
        for layer in self.encoder.layers:
            flat = self._layer(layer, flat, batch)
        return self.project(flat)

    def _layer(self, layer: nn.TransformerEncoderLayer, x: Tensor, batch: Batch) -> Tensor:
        """One post-norm layer: ``x = LN1(x + SA(x))``, ``x = LN2(x + W2 relu(W1 x))``, packed ``[N, d]``."""
        attention = layer.self_attn
        p = layer.dropout.p
        n_heads, width = attention.num_heads, x.shape[-1]
        qkv = batch.unflatten(F.linear(x, attention.in_proj_weight, attention.in_proj_bias))  # [B, L, 3d]
        # unbind, not qkv[0..2]: its backward stacks the three gradients once instead of
        # zero-filling and copying the whole [3, B, H, L, d / H] tensor for each.
        q, k, v = qkv.view(batch.n_dialogues, batch.max_length, 3, n_heads, width // n_heads).permute(2, 0, 3, 1, 4).unbind(0)
        keys_real = batch.mask[:, None, None, :]  # [B, 1, 1, L]: attend to real utterances only
        mixed = masked_attention(q, k, v, keys_real, attention.dropout, self.training)  # [B, H, L, d / H]
        mixed = batch.flatten(mixed.transpose(1, 2).reshape(batch.n_dialogues, batch.max_length, width))  # [N, d]
        x = layer.norm1(dropout_add(x, attention.out_proj(mixed), p, self.training))
        hidden = uniform_dropout(F.relu(layer.linear1(x)), p, self.training)  # [N, feedforward]
        return layer.norm2(dropout_add(x, layer.linear2(hidden), p, self.training))
