"""Vectorised graph operations against short loop-based references."""

from __future__ import annotations

import math

import torch

from spcl_diag.models.dialogue_gcn import relation_types, relational_messages, window_edges
from spcl_diag.models.graph import multimodal_adjacency


def _ref_adjacency(nodes, lengths, M, L):
    """MMGCN adjacency of one dialogue at a time, built edge by edge."""
    B, K = nodes.shape[:2]
    out = torch.zeros(B, K, K)
    for b in range(B):
        real = [m * L + i for m in range(M) for i in range(lengths[b])]
        A = torch.zeros(K, K)
        for u in real:
            for w in real:
                if u // L == w // L or u % L == w % L:
                    cos = torch.nn.functional.cosine_similarity(nodes[b, u], nodes[b, w], dim=0)
                    A[u, w] = 1 - math.acos(0.99999 * float(cos)) / math.pi
        d = A.sum(1)
        for u in real:
            for w in real:
                out[b, u, w] = A[u, w] / math.sqrt(d[u] * d[w])
    return out


def test_multimodal_adjacency_matches_loop_reference():
    torch.manual_seed(0)
    M, L, lengths = 3, 4, [4, 2]
    mask = torch.tensor([[i < n for i in range(L)] for n in lengths])
    nodes = torch.randn(2, M * L, 5) * mask.repeat(1, M).unsqueeze(-1)  # padded nodes are zero vectors
    adj = multimodal_adjacency(nodes, mask, M)
    assert torch.isfinite(adj).all()
    torch.testing.assert_close(adj, _ref_adjacency(nodes, lengths, M, L), atol=1e-5, rtol=1e-5)


def test_relational_messages_match_loop_reference():
    torch.manual_seed(1)
    B, L, g, q, S, n_bases = 2, 5, 3, 4, 2, 3
    R = 2 * S * S
    lengths = [5, 3]
    mask = torch.tensor([[i < n for i in range(L)] for n in lengths])
    speakers = torch.randint(0, S, (B, L)) * mask
    nodes = torch.randn(B, L, g)
    coefficients, bases = torch.randn(R, n_bases), torch.randn(n_bases, g, q)
    edges = window_edges(mask, 2, 1)
    relations = relation_types(speakers, S)
    got = relational_messages(nodes, edges, relations, coefficients, bases)

    W = torch.einsum("rn,ngq->rgq", coefficients, bases)
    for b in range(B):
        for k in range(lengths[b]):
            expected = torch.zeros(q)
            for r in range(R):
                sources = [j for j in range(lengths[b]) if -2 <= k - j <= 1 and
                           2 * (S * int(speakers[b, j]) + int(speakers[b, k])) + int(j >= k) == r]
                if sources:
                    expected += torch.stack([nodes[b, j] @ W[r] for j in sources]).mean(0)
            torch.testing.assert_close(got[b, k], expected, atol=1e-5, rtol=1e-5)
        assert (got[b, lengths[b]:] == 0).all()
