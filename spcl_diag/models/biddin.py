"""BiDDIN as in the SPCL reference: a bidirectional DialogueRNN-style network per modality."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from spcl_diag.data.batching import Batch
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.models.configs import BiDDINConfig
from spcl_diag.models.recurrent import gru_update


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


class _Recurrence(nn.Module):
    """One direction's parameters: global, party and emotion GRU cells and the history score."""

    def __init__(self, width: int, config: BiDDINConfig):
        super().__init__()
        Dg, Dp, De = config.hidden_dim, config.hidden2_dim, config.hidden3_dim
        self.global_cell = nn.GRUCell(width + Dp, Dg)
        self.party_cell = nn.GRUCell(width + Dg, Dp)
        self.emotion_cell = nn.GRUCell(Dp, De)
        self.score = nn.Linear(Dg, 1, bias=False)

    def input_gates(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The ``x_t`` part of the global and party cells' input gates, all steps: ``[B, L, 3 D]`` each."""
        d = x.shape[-1]
        return (F.linear(x, self.global_cell.weight_ih[:, :d], self.global_cell.bias_ih),
                F.linear(x, self.party_cell.weight_ih[:, :d], self.party_cell.bias_ih))


def _stacked(recurrences: Sequence[_Recurrence], weight: Callable[[_Recurrence], Tensor]) -> Tensor:
    """``[K, in, out]`` from a weight ``[out, in]`` of every recurrence, or ``[K, 1, out]`` from a bias ``[out]``.

    Shaped for ``bmm`` / ``baddbmm`` with states ``[K, B, in]``.
    """
    stacked = torch.stack([weight(r) for r in recurrences])
    return stacked.unsqueeze(1) if stacked.dim() == 2 else stacked.transpose(1, 2)


def run_recurrences(
    recurrences: Sequence[_Recurrence],
    inputs: Sequence[Tensor],
    speakers: Tensor,
    n_parties: int,
    *,
    dropout: float,
    position_dropout: float,
    training: bool,
) -> Tensor:
    """Step ``K`` independent recurrences together: ``inputs[k]`` ``[B, L, d_k]``, ``speakers`` ``[K, B, L]``.

    Returns the emotion states ``[K, B, L, D_e]``. The recurrences share no parameters; they are
    stacked so that each time step is one batched matrix product per gate instead of ``K``
    (BiDDIN steps two directions per modality, so ``K = 2 M``).
    """
    K, B, L = speakers.shape
    first = recurrences[0]
    Dg, Dp, De = first.global_cell.hidden_size, first.party_cell.hidden_size, first.emotion_cell.hidden_size
    gates = [r.input_gates(x) for r, x in zip(recurrences, inputs)]
    global_x = torch.stack([g for g, _ in gates])  # [K, B, L, 3 D_g]
    party_x = torch.stack([p for _, p in gates])  # [K, B, L, 3 D_p]
    global_state_w = _stacked(recurrences, lambda r: r.global_cell.weight_ih[:, -Dp:])  # [K, D_p, 3 D_g]
    global_hh_w = _stacked(recurrences, lambda r: r.global_cell.weight_hh)
    global_hh_b = _stacked(recurrences, lambda r: r.global_cell.bias_hh)  # [K, 1, 3 D_g]
    party_context_w = _stacked(recurrences, lambda r: r.party_cell.weight_ih[:, -Dg:])  # [K, D_g, 3 D_p]
    party_hh_w = _stacked(recurrences, lambda r: r.party_cell.weight_hh)
    party_hh_b = _stacked(recurrences, lambda r: r.party_cell.bias_hh)
    emotion_ih_w = _stacked(recurrences, lambda r: r.emotion_cell.weight_ih)
    emotion_ih_b = _stacked(recurrences, lambda r: r.emotion_cell.bias_ih)
    emotion_hh_w = _stacked(recurrences, lambda r: r.emotion_cell.weight_hh)
    emotion_hh_b = _stacked(recurrences, lambda r: r.emotion_cell.bias_hh)
    score_w = _stacked(recurrences, lambda r: r.score.weight)  # [K, D_g, 1]

    positions = sinusoidal_positions(L, Dg, device=speakers.device)
    g = global_x.new_zeros(K, B, Dg)
    party = global_x.new_zeros(K, B, n_parties, Dp)
    e = global_x.new_zeros(K, B, De)
    # Running (online) softmax over the history g_1..g_{t-1}: max, weighted sum, normaliser.
    run_max = global_x.new_full((K, B, 1), float("-inf"))
    run_sum = global_x.new_zeros(K, B, Dg)
    run_norm = global_x.new_zeros(K, B, 1)
    speaking = F.one_hot(speakers, n_parties).to(global_x.dtype).unsqueeze(-1)  # [K, B, L, P, 1]
    emotions = []
    for t in range(L):  # the recurrence is sequential in time; every op is batched over K and B
        speaker = speakers[:, :, t, None, None].expand(K, B, 1, Dp)
        q_s = party.gather(2, speaker).squeeze(2)  # [K, B, D_p] the speaker's previous party state
        g = F.dropout(
            gru_update(global_x[:, :, t] + q_s @ global_state_w, torch.baddbmm(global_hh_b, g, global_hh_w), g),
            dropout, training,
        )
        context = run_sum / run_norm if t > 0 else run_sum  # c_1 = 0 (empty history)
        q_new = F.dropout(
            gru_update(party_x[:, :, t] + context @ party_context_w, torch.baddbmm(party_hh_b, q_s, party_hh_w), q_s),
            dropout, training,
        )
        party = party + speaking[:, :, t] * (q_new.unsqueeze(2) - party)  # only the speaker's state moves
        e = F.dropout(
            gru_update(torch.baddbmm(emotion_ih_b, q_new, emotion_ih_w), torch.baddbmm(emotion_hh_b, e, emotion_hh_w), e),
            dropout, training,
        )
        emotions.append(e)
        # Add g_t to the attention history for the next steps.
        g_hat = F.dropout(g + positions[t], position_dropout, training)
        s = g_hat @ score_w  # [K, B, 1]
        new_max = torch.maximum(run_max, s)
        decay, weight = torch.exp(run_max - new_max), torch.exp(s - new_max)
        run_sum = run_sum * decay + weight * g_hat
        run_norm = run_norm * decay + weight
        run_max = new_max
    return torch.stack(emotions, dim=2)


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

    def classify(self, forward_states: Tensor, backward_states: Tensor, batch: Batch) -> tuple[Tensor, Tensor]:
        """Emotion states of both directions ``[B, L, D_e]`` -> logits ``[N, C]`` and classifier input ``[N, 2 D_h]``."""
        states = torch.cat([self.dropout(forward_states), self.dropout(backward_states)], -1)  # [B, L, 2 D_e]
        states = self.position_dropout(states + sinusoidal_positions(states.shape[1], states.shape[-1], device=states.device))
        attended, _ = self.attention(states, states, states, key_padding_mask=~batch.mask, need_weights=False)
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

    The recurrence is sequential: one Python step per time step, batched over dialogues and
    over the ``2 M`` independent recurrences (two directions per modality, stacked, with the
    input projections of all steps computed before the loop). The history attention is
    accumulated as a running (online) softmax, O(L) per dialogue.

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
        self.config = config
        for m in self.modalities:
            self.branches[m] = _ModalityNetwork(dims[m], n_classes, config)

    def _branch(self, m: str) -> _ModalityNetwork:
        return cast(_ModalityNetwork, self.branches[m])

    def forward(self, batch: Batch) -> ModelOutput:
        rev = reverse_within_length(batch.mask)  # [B, L]
        recurrences, inputs, speakers = [], [], []
        for m in self.modalities:
            x = batch.features[m]
            recurrences += [self._branch(m).forward_rnn, self._branch(m).backward_rnn]
            inputs += [x, x.gather(1, rev.unsqueeze(-1).expand_as(x))]
            speakers += [batch.speakers, batch.speakers.gather(1, rev)]
        states = run_recurrences(
            recurrences, inputs, torch.stack(speakers), self.n_parties,
            dropout=self.config.drop_rate, position_dropout=self.config.position_dropout, training=self.training,
        )  # [2 M, B, L, D_e]: forward and reversed backward states of each modality
        features, logits = {}, {}
        for i, m in enumerate(self.modalities):
            backward = states[2 * i + 1].gather(1, rev.unsqueeze(-1).expand_as(states[2 * i + 1]))
            logits[m], features[m] = self._branch(m).classify(states[2 * i], backward, batch)
        joint = torch.stack(list(logits.values())).sum(0)
        return ModelOutput(joint=joint, per_modality=logits, features=features)
