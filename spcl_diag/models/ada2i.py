"""Ada2I: tensor-ring feature weighting (AFW) and modality-wise normalised weighting (AMW)."""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from spcl_diag.data.batching import Batch
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.models.configs import Ada2IConfig
from spcl_diag.models.encoders import ContextEncoder


class _AFWLayer(nn.Module):
    """Modality ``m``'s maps in one AFW layer: query ``a, b``, key ``c, d``, output and mapping."""

    def __init__(self, hidden: int, rank: int):
        super().__init__()
        self.query_a, self.query_b = nn.Linear(hidden, rank), nn.Linear(hidden, rank)
        self.key_c, self.key_d = nn.Linear(hidden, rank), nn.Linear(hidden, rank)
        self.out = nn.Linear(rank * rank, hidden)
        self.mapping = nn.Linear(hidden, hidden)

    def interaction(self, z: Tensor) -> Tensor:
        """``[B, L, h]`` -> ``G = (a \\otimes b) \\odot (c \\otimes d)`` ``[B, L, r, r]``."""
        query = self.query_a(z).unsqueeze(-1) * self.query_b(z).unsqueeze(-2)
        key = self.key_c(z).unsqueeze(-1) * self.key_d(z).unsqueeze(-2)
        return query * key


class _Branch(nn.Module):
    """Modality ``m``'s own parameters: encoder, AFW maps of every layer, AMW block ``W_m``."""

    def __init__(self, width: int, n_classes: int, config: Ada2IConfig, bound: float):
        super().__init__()
        h = config.hidden_dim
        self.encoder = ContextEncoder(
            width, h, n_layers=config.encoder_nlayers, dropout=config.drop_rate, feedforward=config.feedforward_dim
        )
        self.afw = nn.ModuleList(_AFWLayer(h, config.tensor_rank) for _ in range(config.afw_layers))
        self.amw_weight = nn.Parameter(torch.empty(n_classes, h).uniform_(-bound, bound))  # W_m [C, h]


class Ada2I(Backbone):
    r"""Ada2I's network (mixed per-modality logits); its training strategy is the ``ada2i`` balancer.

    Encoders :math:`Z_m = E_m(x^m)` (:class:`~spcl_diag.models.encoders.ContextEncoder`), then
    ``afw_layers`` AFW layers; in each, for every modality :math:`m` (rank :math:`r`):

    .. math::
        G_m = (a_m(Z_m) \otimes b_m(Z_m)) \odot (c_m(Z_m) \otimes d_m(Z_m)) \in \mathbb R^{L \times r \times r}

        P_m = \mathrm{mean}_{\text{real } l}\, G_{m,l}, \qquad
        T_m = G_m \prod_{m' \ne m} P_{m'} \text{ (modality-string order)}

        A_m = W^o_m \mathrm{vec}(T_m) + b^o_m, \qquad Z'_m = A_m \odot Z_m + \beta Z_m

    and the next layer receives :math:`\mathrm{Drop}_p(Z'_m)`. The feature-mapping loss
    (training only, summed over layers, returned as ``auxiliary_loss``) is
    :math:`\mathrm{mean}\,|F_m(Z_m) - A_m|` over modalities, real utterances and units, with
    :math:`F_m` a linear map. AMW (one linear layer :math:`[W_m]_m, b` split by modality):

    .. math:: z_m = \frac{Z'_m}{\lVert Z'_m \rVert} \hat W_m^\top + \frac{b}{M}, \qquad
              \hat W_{m,c} = \frac{W_{m,c}}{\lVert W_{m,c} \rVert}, \qquad z = \sum_m z_m

    Each :math:`z_m` is the cosine of the utterance with each class weight plus a shared bias
    share. The heads are *mixed* through the pooled matrices :math:`P_{m'}`; with one
    modality there is no cross term. Speakers are not used.

    Train it as the Ada2I paper does with ``backbone="ada2i", balancing="ada2i"`` (and the
    paper's IEMOCAP ``balancing_config.alpha=0.037``, the ``ada2i`` default); the balancing
    method is never chosen implicitly.

    Deviations from the reference (leson502/ADA2I): encoders use a padding mask and
    :math:`P_m` averages over real utterances only (the reference pools over padding); the
    mapping-loss target is :math:`A_m` (the paper's :math:`Att_m`; the reference's target is
    :math:`Z'_m` through list aliasing); :math:`\hat W` is normalised per class (cosine
    logits, as in MMCosine) instead of per hidden unit across classes, so each :math:`z_m`
    lies in :math:`[-1, 1] + b/M`. As in the reference code and unlike the paper's
    equation 4, :math:`G` has no softmax or :math:`1/\sqrt{d_k}` and pools over time; the
    joint logits are the plain sum (no MLP of the paper's equation 9); the loss is
    :math:`CE(z)` plus the mapping loss. Parameter groups: modality :math:`m` owns its
    encoder, AFW maps and AMW block :math:`W_m`; the AMW bias is shared.

    References
    ----------
    .. [1] Nguyen, Le, Nguyen, Le, Nguyen. "Ada2I: Enhancing Modality Balance for Multimodal
       Conversational Emotion Recognition." ACM MM 2024.
    .. [2] Xu et al. "MMCosine: Multi-Modal Cosine Loss Towards Balanced Audio-Visual
       Fine-Grained Learning." ICASSP 2023.
    """

    PURE_HEADS = False

    def __init__(
        self,
        modalities: str,
        dims: dict[str, int],
        n_classes: int,
        n_speakers: int,
        config: Ada2IConfig = Ada2IConfig(),
    ):
        super().__init__(modalities, n_classes)
        self.config = config
        h, M = config.hidden_dim, len(self.modalities)
        bound = (M * h) ** -0.5  # nn.Linear(M h -> C) initialisation, split by modality
        for m in self.modalities:
            self.branches[m] = _Branch(dims[m], n_classes, config, bound)
        self.amw_bias = nn.Parameter(torch.empty(n_classes).uniform_(-bound, bound))
        self.dropout = nn.Dropout(config.drop_rate)

    def _branch(self, m: str) -> _Branch:
        return cast(_Branch, self.branches[m])

    def forward(self, batch: Batch) -> ModelOutput:
        mods, mask = self.modalities, batch.mask
        real = mask.unsqueeze(-1).to(batch.features[mods[0]].dtype)  # [B, L, 1]
        n_real = real.sum(1).unsqueeze(-1)  # [B, 1, 1]
        z = {m: batch.unflatten(self._branch(m).encoder(batch.features[m], batch)) for m in mods}  # [B, L, h]
        mapping_terms = []
        for layer in range(self.config.afw_layers):
            if layer > 0:
                z = {m: self.dropout(z[m]) for m in mods}
            maps = {m: cast(_AFWLayer, self._branch(m).afw[layer]) for m in mods}
            g = {m: maps[m].interaction(z[m]) for m in mods}  # [B, L, r, r]
            pooled = {m: (g[m] * real.unsqueeze(-1)).sum(1) / n_real for m in mods}  # [B, r, r]
            new_z = {}
            for m in mods:
                t = g[m]
                for other in mods:
                    if other != m:
                        t = t @ pooled[other].unsqueeze(1)
                attention = maps[m].out(t.flatten(-2))  # A_m [B, L, h]
                new_z[m] = attention * z[m] + self.config.beta * z[m]
                if self.training:
                    mapping_terms.append(((maps[m].mapping(z[m]) - attention).abs() * real).sum())
            z = new_z
        features = {m: batch.flatten(z[m]) for m in mods}  # Z'_m [N, h]
        logits = {
            m: F.normalize(features[m], dim=-1) @ F.normalize(self._branch(m).amw_weight, dim=-1).T
            + self.amw_bias / len(mods)
            for m in mods
        }
        joint = torch.stack(list(logits.values())).sum(0)
        auxiliary = None
        if mapping_terms:
            per_layer = len(mods) * batch.n_utterances * self.config.hidden_dim
            auxiliary = torch.stack(mapping_terms).sum() / per_layer  # mean per layer, summed over layers
        return ModelOutput(joint=joint, per_modality=logits, features=features, auxiliary_loss=auxiliary)
