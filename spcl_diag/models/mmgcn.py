"""MMGCN: one graph over the utterances of all modalities, a shared deep GCN, per-modality heads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import torch
from torch import Tensor, nn

from spcl_diag.data.batching import Batch
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.models.configs import MMGCNConfig
from spcl_diag.models.encoders import ContextEncoder
from spcl_diag.models.graph import GCNII, multimodal_adjacency


def graph_stage(encoders: Mapping[str, ContextEncoder], gcn: GCNII, batch: Batch, modalities: str) -> dict[str, Tensor]:
    """Encoders, multimodal graph and shared GCNII: modality -> node outputs ``[N, 2h]``.

    The nodes are ``[B, M L, h]``, modality-major (the MMGCN node order); MMGCN and MM-DFN
    share this stage and differ only in what they compute from its outputs.
    """
    nodes = torch.cat([batch.unflatten(encoders[m](batch.features[m], batch)) for m in modalities], dim=1)
    adj = multimodal_adjacency(nodes, batch.mask, len(modalities))  # [B, M L, M L]
    per_modality = gcn(nodes, adj).split(batch.max_length, dim=1)  # M x [B, L, 2h]
    return {m: batch.flatten(x) for m, x in zip(modalities, per_modality)}


class _Branch(nn.Module):
    """Modality ``m``'s encoder and head."""

    def __init__(self, width: int, n_classes: int, config: MMGCNConfig):
        super().__init__()
        self.encoder = ContextEncoder(
            width, config.hidden_dim, n_layers=config.encoder_nlayers, dropout=config.drop_rate,
            feedforward=config.feedforward_dim,
        )
        self.head = nn.Linear(2 * config.hidden_dim, n_classes)


class MMGCN(Backbone):
    r"""MMGCN as the SPCL reference computes it (mixed per-modality logits).

    1. Nodes :math:`f^m_k = E_m(x^m)_k`, with a
       :class:`~spcl_diag.models.encoders.ContextEncoder` per modality.
    2. One graph per dialogue over its :math:`M L_i` (modality, utterance) nodes,
       :func:`~spcl_diag.models.graph.multimodal_adjacency`: a complete intra-modal graph
       and same-utterance inter-modal edges weighted by
       :math:`1 - \arccos(0.99999 \cos)/\pi`, normalised :math:`D^{-1/2} A D^{-1/2}`.
    3. A :class:`~spcl_diag.models.graph.GCNII` shared across modalities, node output
       :math:`[X ; H] \in \mathbb R^{2h}`.
    4. :math:`z_m = W_m [X ; H]_{m,k} + b_m` and :math:`z = \sum_m z_m`.

    The heads are *mixed*: every node aggregates the other modalities' nodes of the same
    utterance. With one modality only the intra-modal graph remains.

    Deviations from the SPCL reference: the encoders use a padding mask; the graph is a dense
    per-dialogue adjacency batched over dialogues (padded nodes have no edges) instead of a
    graph built in per-utterance Python loops; the GCNII depth is its own setting
    (``gcn_layers``, default 2) instead of ``encoder_nlayers``; the unused speaker embedding
    is not allocated. Compared with Hu et al. (2021) there is, as in the reference, no speaker
    embedding and the per-modality heads are summed instead of one classifier on the
    concatenation.

    References
    ----------
    .. [1] Hu, Liu, Zhao, Jin. "MMGCN: Multimodal Fusion via Deep Graph Convolution Network
       for Emotion Recognition in Conversation." ACL 2021.
    .. [2] Nguyen, Le, Le, Nguyen. SPCL, arXiv 2605.21565 (reference code np4s/SPCL).
    """

    PURE_HEADS = False

    def __init__(
        self,
        modalities: str,
        dims: dict[str, int],
        n_classes: int,
        n_speakers: int,
        config: MMGCNConfig = MMGCNConfig(),
    ):
        super().__init__(modalities, n_classes)
        h = config.hidden_dim
        for m in self.modalities:
            self.branches[m] = _Branch(dims[m], n_classes, config)
        self.gcn = GCNII(
            h, n_layers=config.gcn_layers, dropout=config.drop_rate, lamda=config.gcn_lambda, alpha=config.gcn_alpha
        )

    def _branch(self, m: str) -> _Branch:
        return cast(_Branch, self.branches[m])

    def forward(self, batch: Batch) -> ModelOutput:
        encoders = {m: self._branch(m).encoder for m in self.modalities}
        features = graph_stage(encoders, self.gcn, batch, self.modalities)  # m -> [N, 2h]
        logits = {m: self._branch(m).head(features[m]) for m in self.modalities}
        joint = torch.stack(list(logits.values())).sum(0)
        return ModelOutput(joint=joint, per_modality=logits, features=features)
