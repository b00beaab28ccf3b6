"""The hyperparameters of the built-in backbones, one frozen dataclass each, importable without torch.

A run config is checked against these (``model.<field>`` overrides) before anything trains,
so the registry (:data:`spcl_diag.models.BACKBONES`) holds them here and imports a
backbone's module, and torch with it, only when a model is built. Each backbone module
re-exports its own (``from spcl_diag.models.mmgcn import MMGCNConfig``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LateFusionConfig:
    """Hyperparameters of :class:`~spcl_diag.models.late_fusion.LateFusion` (defaults of the SPCL reference)."""

    hidden_dim: int = 200  # width h after the encoder
    drop_rate: float = 0.5  # dropout p inside the encoder
    encoder_nlayers: int = 2  # Transformer layers n
    feedforward_dim: int = 2048  # encoder feed-forward width


@dataclass(frozen=True)
class DialogueGCNConfig:
    """Hyperparameters of :class:`~spcl_diag.models.dialogue_gcn.DialogueGCN` (defaults of the SPCL reference)."""

    hidden_dim: int = 200  # node width g after the encoder
    hidden2_dim: int = 150  # graph-convolution width q
    drop_rate: float = 0.5  # dropout p in the encoder and the head
    encoder_nlayers: int = 2  # Transformer layers n
    feedforward_dim: int = 2048  # encoder feed-forward width
    trans_head: int = 1  # encoder attention heads
    window_past: int = 2  # wp: edges reach this many utterances back
    window_future: int = 2  # wf: edges reach this many utterances ahead
    n_bases: int = 30  # bases of the relational weight decomposition


@dataclass(frozen=True)
class MMGCNConfig:
    """Hyperparameters of :class:`~spcl_diag.models.mmgcn.MMGCN` (defaults of the SPCL reference)."""

    hidden_dim: int = 200  # node width h
    drop_rate: float = 0.5  # dropout p in the encoders and the GCN
    encoder_nlayers: int = 2  # Transformer layers n of each context encoder
    feedforward_dim: int = 2048  # encoder feed-forward width
    gcn_layers: int = 2  # GCNII depth K (tied to encoder_nlayers in the reference)
    gcn_lambda: float = 0.5  # GCNII lambda: theta_l = ln(lambda / l + 1)
    gcn_alpha: float = 0.1  # GCNII initial-residual weight alpha


@dataclass(frozen=True)
class MMDFNConfig:
    """Hyperparameters of :class:`~spcl_diag.models.mm_dfn.MMDFN` (defaults of the SPCL reference)."""

    hidden_dim: int = 200  # node width h
    drop_rate: float = 0.5  # dropout p in the encoders and the GCN
    encoder_nlayers: int = 2  # Transformer layers n of each context encoder
    feedforward_dim: int = 2048  # encoder feed-forward width
    gcn_layers: int = 2  # GCNII depth K (tied to encoder_nlayers in the reference)
    gcn_lambda: float = 0.5  # GCNII lambda
    gcn_alpha: float = 0.1  # GCNII initial-residual weight alpha
    gate_dropout: float = 0.5  # dropout after the per-modality projection (fixed 0.5, not p)


@dataclass(frozen=True)
class BiDDINConfig:
    """Hyperparameters of :class:`~spcl_diag.models.biddin.BiDDIN` (defaults of the SPCL reference)."""

    hidden_dim: int = 200  # D_g, global (context) state width
    hidden2_dim: int = 150  # D_p, party state width
    hidden3_dim: int = 100  # D_e, emotion state width (per direction)
    hidden4_dim: int = 100  # D_h, half the width of the classifier's hidden layer
    drop_rate: float = 0.5  # dropout p on the recurrent states and in the head
    attention_heads: int = 4  # heads of the top self-attention (must divide 2 D_e)
    position_dropout: float = 0.1  # dropout after adding the sinusoidal position codes


@dataclass(frozen=True)
class Ada2IConfig:
    """Hyperparameters of :class:`~spcl_diag.models.ada2i.Ada2I` (Ada2I paper, Table 2, IEMOCAP column)."""

    hidden_dim: int = 300  # width h after the encoders
    drop_rate: float = 0.5  # dropout p in the encoders and between AFW layers
    encoder_nlayers: int = 2  # Transformer layers n of each context encoder
    feedforward_dim: int = 2048  # encoder feed-forward width
    tensor_rank: int = 11  # rank r of the tensor-ring query/key maps
    beta: float = 0.01  # weight of the residual beta * Z in Z' = A * Z + beta * Z
    afw_layers: int = 2  # stacked AFW layers
