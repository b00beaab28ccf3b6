r"""The multimodal utterance graph and the GCNII stack shared by MMGCN and MM-DFN.

Each dialogue of ``L_i`` utterances becomes a graph of ``M L_i`` nodes, one per (modality,
utterance), held as a dense ``[B, M L, M L]`` adjacency batched over dialogues (modality-major
node order, padded to ``L`` per modality). Padded nodes have no edges, hence zero degree;
their rows and columns of the normalised adjacency are zero, so they never reach a real node.

References
----------
.. [1] Hu, Liu, Zhao, Jin. "MMGCN: Multimodal Fusion via Deep Graph Convolution Network for
   Emotion Recognition in Conversation." ACL 2021.
.. [2] Chen, Wei, Huang, Ding, Li. "Simple and Deep Graph Convolutional Networks." ICML 2020
   (GCNII).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def angular_similarity(x: Tensor, mask: Tensor) -> Tensor:
    r"""Pairwise similarity of the nodes of each graph, zero wherever a node is padding.

    .. math:: \sigma(u, w) = 1 - \arccos(0.99999 \cos(u, w)) / \pi

    The factor 0.99999 (MMGCN reference) keeps the gradient of ``arccos`` finite.

    Parameters
    ----------
    x
        ``[B, K, h]`` node features.
    mask
        ``[B, K]`` bool, True at real nodes.

    Returns
    -------
    Tensor
        ``[B, K, K]``; exactly 0 in every row or column of a padded node (no NaN: a padded
        node's zero vector is never divided by its zero norm).

    Examples
    --------
    >>> x = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]])
    >>> angular_similarity(x, torch.tensor([[True, True, False]])).round(decimals=3)
    tensor([[[0.9990, 0.5000, 0.0000],
             [0.5000, 0.9990, 0.0000],
             [0.0000, 0.0000, 0.0000]]])
    """
    unit = x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    cos = unit @ unit.transpose(1, 2)
    sim = 1 - torch.arccos(0.99999 * cos) / math.pi
    pair = mask.unsqueeze(2) & mask.unsqueeze(1)
    return torch.where(pair, sim, torch.zeros_like(sim))


def multimodal_adjacency(nodes: Tensor, mask: Tensor, n_modalities: int) -> Tensor:
    r"""Symmetrically normalised MMGCN adjacency of each dialogue.

    Edges (weighted by :func:`angular_similarity`): every pair of real utterances of one
    modality, self-loops included (intra-modal), and the same utterance across modalities
    (inter-modal). Then :math:`\hat A = D^{-1/2} A D^{-1/2}` with :math:`D` the row sums;
    a padded node has :math:`D = 0` and its row and column of :math:`\hat A` are 0. The weights
    stay differentiable, as in the reference.

    Parameters
    ----------
    nodes
        ``[B, M L, h]`` node features, modality-major (nodes ``m L .. m L + L - 1`` are
        modality ``m``).
    mask
        ``[B, L]`` bool, True at real utterances.
    n_modalities
        ``M``.

    Returns
    -------
    Tensor
        ``[B, M L, M L]`` normalised adjacency.

    Examples
    --------
    >>> nodes = torch.randn(1, 4, 3)  # M = 2, L = 2 with the second utterance padded
    >>> adj = multimodal_adjacency(nodes, torch.tensor([[True, False]]), 2)
    >>> (adj[0] != 0).int()
    tensor([[1, 0, 1, 0],
            [0, 0, 0, 0],
            [1, 0, 1, 0],
            [0, 0, 0, 0]], dtype=torch.int32)
    """
    L = mask.shape[1]
    node_mask = mask.repeat(1, n_modalities)  # [B, M L]
    modality = torch.arange(n_modalities, device=mask.device).repeat_interleave(L)
    utterance = torch.arange(L, device=mask.device).repeat(n_modalities)
    structure = (modality[:, None] == modality[None, :]) | (utterance[:, None] == utterance[None, :])
    adj = angular_similarity(nodes, node_mask) * structure
    degree = adj.sum(-1)
    inv_sqrt = torch.where(degree > 0, degree.clamp_min(1e-12).rsqrt(), torch.zeros_like(degree))
    return inv_sqrt.unsqueeze(2) * adj * inv_sqrt.unsqueeze(1)


class GCNII(nn.Module):
    r"""Deep GCN with initial residual and identity mapping (GCNII), on dense adjacencies.

    .. math::
        X = \mathrm{Drop}(F), \quad H_0 = \mathrm{ReLU}(X W_{in} + b), \quad H = \mathrm{Drop}(H_0)

        P = \hat A H, \quad \theta_\ell = \ln(\lambda / \ell + 1)

        H \leftarrow \mathrm{Drop}\big(\mathrm{ReLU}(\theta_\ell [P ; H_0] W_\ell
              + (1 - \theta_\ell)((1 - \alpha) P + \alpha H_0))\big)

    and the node output :math:`[X ; H] \in \mathbb R^{2h}`.

    Parameters
    ----------
    hidden
        Node width ``h``.
    n_layers
        Depth ``K``.
    dropout
        Dropout ``p``.
    lamda, alpha
        :math:`\lambda` and :math:`\alpha` (0.5 and 0.1 in MMGCN).

    Examples
    --------
    >>> gcn = GCNII(4, n_layers=2, dropout=0.0)
    >>> gcn(torch.randn(2, 3, 4), torch.eye(3).expand(2, 3, 3)).shape
    torch.Size([2, 3, 8])
    """

    def __init__(self, hidden: int, *, n_layers: int = 2, dropout: float = 0.5, lamda: float = 0.5, alpha: float = 0.1):
        super().__init__()
        self.lamda, self.alpha = lamda, alpha
        self.dropout = nn.Dropout(dropout)
        self.input = nn.Linear(hidden, hidden)
        bound = 1 / math.sqrt(hidden)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(2 * hidden, hidden).uniform_(-bound, bound)) for _ in range(n_layers)
        )

    def forward(self, x: Tensor, adj: Tensor) -> Tensor:
        """``x`` ``[B, K, h]``, ``adj`` ``[B, K, K]`` -> ``[B, K, 2h]``."""
        x = self.dropout(x)
        h0 = torch.relu(self.input(x))
        h = self.dropout(h0)
        for layer, weight in enumerate(self.weights, start=1):
            theta = math.log(self.lamda / layer + 1)
            p = adj @ h
            mixed = torch.cat([p, h0], dim=-1) @ weight
            h = self.dropout(torch.relu(theta * mixed + (1 - theta) * ((1 - self.alpha) * p + self.alpha * h0)))
        return torch.cat([x, h], dim=-1)
