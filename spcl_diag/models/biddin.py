"""BiDDIN as in the SPCL reference: a bidirectional DialogueRNN-style network per modality."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from spcl_diag.data.batching import Batch
from spcl_diag.models.base import Backbone, ModelOutput


@dataclass(frozen=True)
class BiDDINConfig:
    """Hyperparameters of :class:`BiDDIN` (defaults of the SPCL reference)."""

    hidden_dim: int = 200  # D_g, global (context) state width
    hidden2_dim: int = 150  # D_p, party state width
    hidden3_dim: int = 100  # D_e, emotion state width (per direction)
    hidden4_dim: int = 100  # D_h, half the width of the classifier's hidden layer
    drop_rate: float = 0.5  # dropout p on the recurrent states and in the head
    attention_heads: int = 4  # heads of the top self-attention (must divide 2 D_e)
    position_dropout: float = 0.1  # dropout after adding the sinusoidal position codes


def sinusoidal_positions(length: int, width: int, *, device: torch.device | None = None) -> Tensor:
    r"""``[length, width]`` codes :math:`\sin(t / 10000^{2i/w})`, :math:`\cos(\cdot)` interleaved.

    Examples
    --------
    >>> sinusoidal_positions(3, 4)[:, 0]
    tensor([0.0000, 0.8415, 0.9093])
    """
    pos = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    freq = torch.exp(torch.arange(0, width, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / width))
    codes = torch.zeros(length, width, device=device)
    codes[:, 0::2] = torch.sin(pos * freq)
    codes[:, 1::2] = torch.cos(pos * freq)[:, : width // 2]
    return codes


def reverse_within_length(mask: Tensor) -> Tensor:
    """``[B, L]`` index that reverses each dialogue's real utterances and keeps padding in place.

    Examples
    --------
    >>> reverse_within_length(torch.tensor([[True, True, True, False]]))
    tensor([[2, 1, 0, 3]])
    """
    pos = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    lengths = mask.sum(1, keepdim=True)
    return torch.where(mask, lengths - 1 - pos, pos)


def gru_step(cell: nn.GRUCell, input_gates: Tensor, h: Tensor) -> Tensor:
    r"""``cell``'s update from precomputed input gates ``W_ih x + b_ih`` ``[B, 3H]``.

    .. math:: r = \sigma(g^x_r + W_{hr} h + b_{hr}),\ z = \sigma(g^x_z + W_{hz} h + b_{hz}),\
              n = \tanh(g^x_n + r \odot (W_{hn} h + b_{hn})),\ h' = (1 - z) \odot n + z \odot h

    as :class:`torch.nn.GRUCell` computes it; taking the input gates precomputed lets a
    recurrence project every time step's input in one matrix product before the loop.
    """
    i_r, i_z, i_n = input_gates.chunk(3, -1)
    h_r, h_z, h_n = F.linear(h, cell.weight_hh, cell.bias_hh).chunk(3, -1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return n + z * (h - n)


class _Recurrence(nn.Module):
    """One direction: global, party and emotion GRU cells stepped over time, batched over dialogues."""

    def __init__(self, width: int, config: BiDDINConfig):
        super().__init__()
        Dg, Dp, De = config.hidden_dim, config.hidden2_dim, config.hidden3_dim
        self.global_cell = nn.GRUCell(width + Dp, Dg)
        self.party_cell = nn.GRUCell(width + Dg, Dp)
        self.emotion_cell = nn.GRUCell(Dp, De)
        self.score = nn.Linear(Dg, 1, bias=False)
        self.dropout = nn.Dropout(config.drop_rate)
        self.position_dropout = nn.Dropout(config.position_dropout)

    def forward(self, x: Tensor, speakers: Tensor, n_parties: int) -> Tensor:
        """``x`` ``[B, L, d]``, ``speakers`` ``[B, L]`` -> emotion states ``[B, L, D_e]``."""
        B, L, d = x.shape
        Dg, Dp, De = self.global_cell.hidden_size, self.party_cell.hidden_size, self.emotion_cell.hidden_size
        positions = sinusoidal_positions(L, Dg, device=x.device)
        # The global and party cells read [x_t, state]: the x_t part of their input gates is
        # projected for all steps at once; only the state part stays in the loop.
        global_x = F.linear(x, self.global_cell.weight_ih[:, :d], self.global_cell.bias_ih)  # [B, L, 3 D_g]
        party_x = F.linear(x, self.party_cell.weight_ih[:, :d], self.party_cell.bias_ih)  # [B, L, 3 D_p]
        global_w, party_w = self.global_cell.weight_ih[:, d:], self.party_cell.weight_ih[:, d:]
        g = x.new_zeros(B, Dg)
        party = x.new_zeros(B, n_parties, Dp)
        e = x.new_zeros(B, De)
        # Running (online) softmax over the history g_1..g_{t-1}: max, weighted sum, normaliser.
        run_max = x.new_full((B, 1), float("-inf"))
        run_sum = x.new_zeros(B, Dg)
        run_norm = x.new_zeros(B, 1)
        speaking = F.one_hot(speakers, n_parties).to(x.dtype).unsqueeze(-1)  # [B, L, P, 1]
        rows = torch.arange(B, device=x.device)
        emotions = []
        for t in range(L):  # the recurrence is sequential in time; every op is batched over B
            q_s = party[rows, speakers[:, t]]  # [B, D_p] the speaker's previous party state
            g = self.dropout(gru_step(self.global_cell, global_x[:, t] + F.linear(q_s, global_w), g))
            context = run_sum / run_norm if t > 0 else run_sum  # c_1 = 0 (empty history)
            q_new = self.dropout(gru_step(self.party_cell, party_x[:, t] + F.linear(context, party_w), q_s))
            party = party + speaking[:, t] * (q_new.unsqueeze(1) - party)  # only the speaker's state moves
            e = self.dropout(self.emotion_cell(q_new, e))
            emotions.append(e)
            # Add g_t to the attention history for the next steps.
            g_hat = self.position_dropout(g + positions[t])
            s = self.score(g_hat)  # [B, 1]
            new_max = torch.maximum(run_max, s)
            decay, weight = torch.exp(run_max - new_max), torch.exp(s - new_max)
            run_sum = run_sum * decay + weight * g_hat
            run_norm = run_norm * decay + weight
            run_max = new_max
        return torch.stack(emotions, dim=1)


class _ModalityNetwork(nn.Module):
    """One modality's forward and backward recurrences, self-attention and classifier."""

    def __init__(self, width: int, n_classes: int, config: BiDDINConfig):
        super().__init__()
        De, Dh = config.hidden3_dim, config.hidden4_dim
        self.forward_rnn = _Recurrence(width, config)
        self.backward_rnn = _Recurrence(width, config)
        self.dropout = nn.Dropout(config.drop_rate)
        self.position_dropout = nn.Dropout(config.position_dropout)
        self.attention = nn.MultiheadAttention(2 * De, config.attention_heads, bias=False, batch_first=True)
        self.hidden = nn.Linear(2 * De, 2 * Dh)
        self.out = nn.Linear(2 * Dh, n_classes)

    def forward(self, x: Tensor, batch: Batch, n_parties: int) -> tuple[Tensor, Tensor]:
        """``x`` ``[B, L, d_m]`` -> logits ``[N, C]`` and classifier input ``[N, 2 D_h]``."""
        mask = batch.mask
        forward_states = self.forward_rnn(x, batch.speakers, n_parties)
        rev = reverse_within_length(mask)
        x_rev = x.gather(1, rev.unsqueeze(-1).expand_as(x))
        backward_states = self.backward_rnn(x_rev, batch.speakers.gather(1, rev), n_parties)
        backward_states = backward_states.gather(1, rev.unsqueeze(-1).expand_as(backward_states))
        states = torch.cat([self.dropout(forward_states), self.dropout(backward_states)], -1)  # [B, L, 2 D_e]
        states = self.position_dropout(states + sinusoidal_positions(x.shape[1], states.shape[-1], device=x.device))
        attended, _ = self.attention(states, states, states, key_padding_mask=~mask, need_weights=False)
        states = F.layer_norm(states + attended, states.shape[-1:])
        hidden = self.dropout(torch.relu(self.hidden(batch.flatten(states))))  # [N, 2 D_h]
        return self.out(hidden), hidden


class BiDDIN(Backbone):
    r"""BiDDIN as the SPCL reference computes it: an independent network per modality (pure).

    Per modality, raw features :math:`x_t` go straight into a DialogueRNN-style recurrence.
    At step :math:`t` with speaker :math:`s`:

    .. math::
        g_t = \mathrm{Drop}(\mathrm{GRU}_g([x_t ; q_{s,t-1}], g_{t-1})), \qquad
        c_t = \sum_{\tau < t} \mathrm{softmax}_\tau(w^\top \hat g_\tau)\, \hat g_\tau,
        \quad \hat g_\tau = \mathrm{Drop}_{0.1}(g_\tau + \mathrm{PE}_\tau), \; c_1 = 0

        q_{s,t} = \mathrm{Drop}(\mathrm{GRU}_q([x_t ; c_t], q_{s,t-1})) \text{ (speaker only)}, \qquad
        e_t = \mathrm{Drop}(\mathrm{GRU}_e(q_{s,t}, e_{t-1}))

    A second recurrence runs over each dialogue reversed within its length. Then
    :math:`E = \mathrm{Drop}_{0.1}([e^f ; e^b] + \mathrm{PE})`, 4-head scaled dot-product
    self-attention with bias-free projections, residual and non-affine layer normalisation,
    and :math:`z_m = W_2\, \mathrm{Drop}(\mathrm{ReLU}(W_1 E + b_1)) + b_2`, :math:`z = \sum_m z_m`.
    Speakers enter only through the party states. The per-modality logits are *pure*.

    The recurrence is sequential: one Python step per time step, batched over dialogues. The
    history attention is accumulated as a running (online) softmax, O(L) per dialogue.

    Deviations from the SPCL reference: the self-attention stays within each dialogue and masks
    padding (the reference mixes tokens of different dialogues); the layer normalisation is a
    fixed non-affine one (the reference builds an untrained one in every call) and the unused
    head is not allocated; the number of parties is the dataset's speaker count (the reference
    uses the largest id in the batch plus one, which depends on batch composition); the
    position-code dropout of :math:`\hat g_\tau` is drawn once per history entry instead of
    again at every later step (training-time randomness only).
    Compared with Zhang et al. (2020), as in the reference, modalities do not influence each
    other.

    References
    ----------
    .. [1] Zhang, Zhang, Li, Zhu, Zhou. "Modeling both Intra- and Inter-modal Influence for
       Real-Time Emotion Detection in Conversations." ACM MM 2020 (BiDDIN).
    .. [2] Majumder et al. "DialogueRNN: An Attentive RNN for Emotion Detection in
       Conversations." AAAI 2019.
    .. [3] Nguyen, Le, Le, Nguyen. SPCL, arXiv 2605.21565 (reference code np4s/SPCL).
    """

    PURE_HEADS = True

    def __init__(
        self,
        modalities: str,
        dims: dict[str, int],
        n_classes: int,
        n_speakers: int,
        config: BiDDINConfig = BiDDINConfig(),
    ):
        super().__init__(modalities, n_classes)
        if (2 * config.hidden3_dim) % config.attention_heads:
            raise ValueError(
                f"BiDDIN: attention_heads ({config.attention_heads}) must divide 2 * hidden3_dim "
                f"({2 * config.hidden3_dim})."
            )
        self.n_parties = max(1, n_speakers)
        for m in self.modalities:
            self.branches[m] = _ModalityNetwork(dims[m], n_classes, config)

    def forward(self, batch: Batch) -> ModelOutput:
        features, logits = {}, {}
        for m in self.modalities:
            logits[m], features[m] = self.branches[m](batch.features[m], batch, self.n_parties)
        joint = torch.stack(list(logits.values())).sum(0)
        return ModelOutput(joint=joint, per_modality=logits, features=features)
