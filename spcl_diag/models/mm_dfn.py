"""MM-DFN as in the SPCL reference: the MMGCN graph, then a pairwise gated fusion per modality."""

from __future__ import annotations

from itertools import permutations
from typing import cast

import torch
from torch import Tensor, nn

from spcl_diag.data.batching import Batch
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.models.configs import MMDFNConfig
from spcl_diag.models.encoders import ContextEncoder
from spcl_diag.models.graph import GCNII
from spcl_diag.models.mmgcn import graph_stage


class _Branch(nn.Module):
    """Modality ``m``'s encoder, projection ``W^u_m`` and head ``W^z_m``."""

    def __init__(self, width: int, n_classes: int, config: MMDFNConfig):
        super().__init__()
        h = config.hidden_dim
        self.encoder = ContextEncoder(
            width, h, n_layers=config.encoder_nlayers, dropout=config.drop_rate, feedforward=config.feedforward_dim
        )
        self.project = nn.Linear(2 * h, h)
        self.head = nn.Linear(h, n_classes)


class MMDFN(Backbone):
    r"""MM-DFN as the SPCL reference computes it (mixed per-modality logits).

    The MMGCN steps (encoders, multimodal graph, shared GCNII; see
    :class:`~spcl_diag.models.mmgcn.MMGCN`) give node outputs :math:`o_m \in \mathbb R^{2h}`,
    then

    .. math::
        u_m = \mathrm{Drop}_{0.5}(\mathrm{ReLU}(W^u_m o_m + b^u_m))

        \gamma_{m m'} = \sigma(W^g_{m m'} [u_m ; u_{m'} ; u_m \odot u_{m'}] + b^g_{m m'})

        r_m = \sum_{m' \ne m} \gamma_{m m'} \odot u_m + (1 - \gamma_{m m'}) \odot u_{m'}
        \quad (r_m = u_m \text{ when } M = 1)

        z_m = W^z_m r_m + b^z_m, \qquad z = \sum_m z_m

    :math:`r_m` is a sum over the other modalities, so its scale grows with :math:`M` (as in
    the reference). The heads are *mixed* (graph and gate).

    Deviations from the SPCL reference: the padding masks, dense batched graph and separate
    GCNII depth of :class:`~spcl_diag.models.mmgcn.MMGCN`. As in the reference, the
    projection :math:`W^u_m` and head :math:`W^z_m` are per modality and every ordered pair
    :math:`(m, m')` has its own gate :math:`W^g_{m m'} \in \mathbb R^{h \times 3h}` (with
    :math:`M = 3`, six gates of :math:`3h^2 + h` parameters each). This is not the dynamic
    fusion network of Hu et al. (2022): there is no gated memory across layers and no
    speaker information.

    Parameter count at the reference sizes (widths t 768, a 512, v 1024; 6 classes;
    2 speakers; defaults otherwise): 35,759,498, which is the reference's 35,759,898 less
    its speaker embedding (:math:`2 \times 200 = 400` parameters, allocated there but never
    used, and not allocated here). No other parameter departs from the reference.

    References
    ----------
    .. [1] Hu, Hu, Zhao, Jin, Liu. "MM-DFN: Multimodal Dynamic Fusion Network for Emotion
       Recognition in Conversations." ICASSP 2022.
    .. [2] Nguyen, Le, Le, Nguyen. SPCL, arXiv 2605.21565 (reference code np4s/SPCL).
    """

    PURE_HEADS = False
    _first: Tensor  # [P] first modality of each ordered pair
    _second: Tensor  # [P] second modality of each ordered pair

    def __init__(
        self,
        modalities: str,
        dims: dict[str, int],
        n_classes: int,
        n_speakers: int,
        config: MMDFNConfig = MMDFNConfig(),
    ):
        super().__init__(modalities, n_classes)
        h = config.hidden_dim
        for m in self.modalities:
            self.branches[m] = _Branch(dims[m], n_classes, config)
        self.gcn = GCNII(
            h, n_layers=config.gcn_layers, dropout=config.drop_rate, lamda=config.gcn_lambda, alpha=config.gcn_alpha
        )
        pairs = list(permutations(range(len(self.modalities)), 2))  # ordered (m, m'), m != m'
        self.gates = nn.ModuleList(nn.Linear(3 * h, h) for _ in pairs)  # W^g_{m m'}, one per pair
        self.gate_dropout = nn.Dropout(config.gate_dropout)
        self.register_buffer("_first", torch.tensor([p[0] for p in pairs], dtype=torch.long), persistent=False)
        self.register_buffer("_second", torch.tensor([p[1] for p in pairs], dtype=torch.long), persistent=False)

    def _branch(self, m: str) -> _Branch:
        return cast(_Branch, self.branches[m])

    def forward(self, batch: Batch) -> ModelOutput:
        encoders = {m: self._branch(m).encoder for m in self.modalities}
        outputs = graph_stage(encoders, self.gcn, batch, self.modalities)  # m -> [N, 2h]
        u = torch.stack(
            [self.gate_dropout(torch.relu(self._branch(m).project(outputs[m]))) for m in self.modalities]
        )  # [M, N, h]
        fused = self._fuse(u)
        logits = {m: self._branch(m).head(fused[i]) for i, m in enumerate(self.modalities)}
        joint = torch.stack(list(logits.values())).sum(0)
        return ModelOutput(joint=joint, per_modality=logits, features=dict(zip(self.modalities, fused)))

    def _fuse(self, u: Tensor) -> Tensor:
        """``[M, N, h]`` -> ``[M, N, h]``: the gated pairwise sum, all ordered pairs at once."""
        if not len(self.gates):
            return u
        first, second = u[self._first], u[self._second]  # [P, N, h]
        gates = cast(list[nn.Linear], list(self.gates))
        weight = torch.stack([gate.weight for gate in gates])  # [P, h, 3h]
        bias = torch.stack([gate.bias for gate in gates])  # [P, h]
        pair_input = torch.cat([first, second, first * second], dim=-1)  # [P, N, 3h]
        gamma = torch.sigmoid(torch.baddbmm(bias[:, None, :], pair_input, weight.transpose(1, 2)))
        mixed = gamma * first + (1 - gamma) * second
        return torch.zeros_like(u).index_add_(0, self._first, mixed)
