"""DialogueGCN as in the SPCL reference: an independent speaker-relational graph network per modality."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from spcl_diag.data.batching import Batch
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.models.configs import DialogueGCNConfig
from spcl_diag.models.encoders import ContextEncoder


def window_edges(mask: Tensor, past: int, future: int) -> Tensor:
    """``[B, L, L]`` bool edges ``j -> k`` between real utterances with ``-past <= k - j <= future``.

    Examples
    --------
    >>> window_edges(torch.tensor([[True, True, True, False]]), 1, 0)[0].int()
    tensor([[1, 0, 0, 0],
            [1, 1, 0, 0],
            [0, 1, 1, 0],
            [0, 0, 0, 0]], dtype=torch.int32)
    """
    L = mask.shape[1]
    pos = torch.arange(L, device=mask.device)
    offset = pos[None, :] - pos[:, None]  # [j, k] = k - j
    window = (offset >= -past) & (offset <= future)
    return window & mask.unsqueeze(2) & mask.unsqueeze(1)


def relation_types(speakers: Tensor, n_speakers: int) -> Tensor:
    r"""``[B, L, L]`` relation of edge ``j -> k``: :math:`2 (S s_j + s_k) + [j \ge k]`.

    Examples
    --------
    >>> relation_types(torch.tensor([[0, 1]]), 2)
    tensor([[[1, 2],
             [5, 7]]])
    """
    L = speakers.shape[1]
    pos = torch.arange(L, device=speakers.device)
    backward = (pos[:, None] >= pos[None, :]).long()  # [j, k] = [j >= k]
    return 2 * (n_speakers * speakers.unsqueeze(2) + speakers.unsqueeze(1)) + backward


def relational_messages(nodes: Tensor, edges: Tensor, relations: Tensor, coefficients: Tensor, bases: Tensor) -> Tensor:
    r"""``[B, L, q]`` relational messages :math:`\sum_r \mathrm{mean}_{j \to k,\, r} W_r g_j`.

    With the basis decomposition :math:`W_r = \sum_b c_{rb} V_b`, computed as one einsum over
    the relation-typed adjacency: no loop over relations, edges or dialogues.

    Parameters
    ----------
    nodes
        ``[B, L, g]`` node features :math:`g_j`.
    edges
        ``[B, L, L]`` bool, edge ``j -> k`` at ``[b, j, k]``.
    relations
        ``[B, L, L]`` int64 relation type of each (possible) edge.
    coefficients
        ``[R, n_bases]`` :math:`c_{rb}`.
    bases
        ``[n_bases, g, q]`` :math:`V_b`.
    """
    typed = F.one_hot(relations, coefficients.shape[0]).to(nodes.dtype) * edges.unsqueeze(-1)  # [B, j, k, R]
    counts = typed.sum(1, keepdim=True).clamp_min(1.0)  # [B, 1, k, R] incoming edges per type
    mixing = (typed / counts) @ coefficients  # [B, j, k, n_bases]
    per_basis = torch.einsum("bjkn,bjg->bkng", mixing, nodes)
    return torch.einsum("bkng,ngq->bkq", per_basis, bases)


class _ModalityGraph(nn.Module):
    """One modality's encoder, edge attention, relational and weighted convolutions, head."""

    def __init__(self, width: int, n_classes: int, n_relations: int, config: DialogueGCNConfig):
        super().__init__()
        g, q = config.hidden_dim, config.hidden2_dim
        self.encoder = ContextEncoder(
            width, g, n_layers=config.encoder_nlayers, dropout=config.drop_rate,
            feedforward=config.feedforward_dim, n_heads=config.trans_head,
        )
        self.omega = nn.Parameter(torch.randn(g, g) / g)
        self.bases = nn.Parameter(nn.init.xavier_uniform_(torch.empty(config.n_bases, g, q)))
        self.coefficients = nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_relations, config.n_bases)))
        self.root = nn.Linear(g, q)
        nn.init.xavier_uniform_(self.root.weight)
        nn.init.zeros_(self.root.bias)
        self.self_weight = nn.Linear(q, q, bias=False)
        self.neighbour_weight = nn.Linear(q, q)
        self.head = nn.Sequential(
            nn.Linear(g + q, q), nn.ReLU(), nn.Dropout(config.drop_rate), nn.Linear(q, n_classes)
        )

    def forward(self, x: Tensor, edges: Tensor, relations: Tensor, batch: Batch) -> tuple[Tensor, Tensor]:
        """``x`` ``[B, L, d_m]`` -> logits ``[N, C]`` and head input ``[N, g + q]``."""
        nodes = batch.unflatten(self.encoder(x, batch))  # [B, L, g]
        edge_f = edges.to(nodes.dtype)
        # Edge weights: softmax over the targets k in the window of each source j.
        scores = (nodes @ self.omega) @ nodes.transpose(1, 2)  # [B, j, k]
        scores = scores.masked_fill(~edges, torch.finfo(scores.dtype).min)
        attention = scores.softmax(-1) * edge_f  # rows of padded sources are all zero
        y = self.root(nodes) + relational_messages(nodes, edges, relations, self.coefficients, self.bases)
        # Weighted conv: sum over incoming edges with the attention weights.
        out = self.self_weight(y) + self.neighbour_weight(attention.transpose(1, 2) @ y)
        features = batch.flatten(torch.cat([nodes, out], dim=-1))  # [N, g + q]
        return self.head(features), features


class DialogueGCN(Backbone):
    r"""DialogueGCN as the SPCL reference computes it, one independent copy per modality (pure).

    For each modality, with :math:`g_k` the encoded utterance
    (:class:`~spcl_diag.models.encoders.ContextEncoder`, ``trans_head`` heads):

    * edges :math:`j \to k` within a dialogue when :math:`-w_p \le k - j \le w_f`
      (self-loops included), weighted by
      :math:`a_{jk} = \mathrm{softmax}_{k \in \mathcal W(j)}(g_j^\top \Omega g_k)`;
    * relation :math:`r = 2(S s_j + s_k) + [j \ge k]` of :math:`R = 2 S^2` types
      (:math:`S` speakers, :math:`s` speaker ids);
    * relational convolution with a 30-basis decomposition
      :math:`W_r = \sum_b c_{rb} V_b`:
      :math:`y_k = W_0 g_k + \sum_r \mathrm{mean}_{j \to k,\, r} W_r g_j + b`;
    * weighted convolution :math:`o_k = U_1 y_k + U_2 \sum_{j \to k} a_{jk} y_j + b'`;
    * head :math:`z_m = W_2\, \mathrm{Drop}(\mathrm{ReLU}(W_1 [g_k ; o_k] + b_1)) + b_2`,
      :math:`z = \sum_m z_m`.

    No parameter or activation crosses modalities, so the per-modality logits are *pure*.

    Deviations from the SPCL reference: the encoders use a padding mask; edge weights live in a
    dense ``[B, L, L]`` matrix (no fixed 110-column buffer, any dialogue length works) and all
    graphs are built and convolved batched over dialogues with no Python loop; the number of
    speakers (hence relations) is the dataset's. Compared with Ghosal et al. (2019), as in the
    reference, a Transformer replaces the GRU context encoder and modalities do not interact.

    References
    ----------
    .. [1] Ghosal, Majumder, Poria, Chhaya, Gelbukh. "DialogueGCN: A Graph Convolutional
       Neural Network for Emotion Recognition in Conversation." EMNLP 2019.
    .. [2] Schlichtkrull et al. "Modeling Relational Data with Graph Convolutional Networks."
       ESWC 2018 (basis decomposition).
    .. [3] Nguyen, Le, Le, Nguyen. SPCL, arXiv 2605.21565 (reference code np4s/SPCL).
    """

    PURE_HEADS = True

    def __init__(
        self,
        modalities: str,
        dims: dict[str, int],
        n_classes: int,
        n_speakers: int,
        config: DialogueGCNConfig = DialogueGCNConfig(),
    ):
        super().__init__(modalities, n_classes)
        self.config = config
        self.n_speakers = max(1, n_speakers)
        for m in self.modalities:
            self.branches[m] = _ModalityGraph(dims[m], n_classes, 2 * self.n_speakers**2, config)

    def forward(self, batch: Batch) -> ModelOutput:
        edges = window_edges(batch.mask, self.config.window_past, self.config.window_future)
        relations = relation_types(batch.speakers, self.n_speakers)
        features, logits = {}, {}
        for m in self.modalities:
            logits[m], features[m] = self.branches[m](batch.features[m], edges, relations, batch)
        joint = torch.stack(list(logits.values())).sum(0)
        return ModelOutput(joint=joint, per_modality=logits, features=features)
