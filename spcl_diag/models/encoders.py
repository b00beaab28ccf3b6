"""Context encoders shared by several backbones."""

from __future__ import annotations

from torch import Tensor, nn


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


class ContextEncoder(nn.Module):
    """Post-norm Transformer encoder at the raw feature width, then ``Linear(d_m -> h)``.

    As in the SPCL reference (feed-forward 2048, ReLU, dropout ``p``, no positional
    encoding) but with a padding mask, so outputs do not depend on batch composition.

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
        # enable_nested_tensor=False: the nested fast path changes numerics with the padding.
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.project = nn.Linear(width, hidden)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """``x`` ``[B, L, d_m]``, ``mask`` ``[B, L]`` (True = real) -> ``[B, L, h]``."""
        return self.project(self.encoder(x, src_key_padding_mask=~mask))
