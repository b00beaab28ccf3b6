"""Late fusion: an independent context encoder and head per modality; joint = sum of heads."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from spcl_diag.data.batching import Batch
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.models.configs import LateFusionConfig
from spcl_diag.models.encoders import ContextEncoder


class LateFusion(Backbone):
    r"""Late fusion of per-modality context encoders (pure per-modality logits).

    .. math:: z_m = W_m\,E_m(x^m) + b_m, \qquad z = \sum_{m \in S} z_m

    with :class:`~spcl_diag.models.encoders.ContextEncoder` ``E_m``. There is no speaker
    information and no interaction between modalities, so each ``z_m`` is *pure*.

    Deviation from the SPCL reference: the encoders use a padding mask.

    References
    ----------
    .. [1] Nguyen, Le, Le, Nguyen. SPCL, arXiv 2605.21565 (reference code np4s/SPCL).
    """

    PURE_HEADS = True

    def __init__(
        self,
        modalities: str,
        dims: dict[str, int],
        n_classes: int,
        n_speakers: int,
        config: LateFusionConfig = LateFusionConfig(),
    ):
        super().__init__(modalities, n_classes)
        for m in self.modalities:
            self.branches[m] = nn.ModuleDict(
                {
                    "encoder": ContextEncoder(
                        dims[m],
                        config.hidden_dim,
                        n_layers=config.encoder_nlayers,
                        dropout=config.drop_rate,
                        feedforward=config.feedforward_dim,
                    ),
                    "head": nn.Linear(config.hidden_dim, n_classes),
                }
            )

    def forward(self, batch: Batch) -> ModelOutput:
        features, logits = {}, {}
        for m in self.modalities:
            branch = cast(nn.ModuleDict, self.branches[m])
            features[m] = branch["encoder"](batch.features[m], batch)  # [N, h]
            logits[m] = branch["head"](features[m])  # [N, C]
        joint = torch.stack(list(logits.values())).sum(0)
        return ModelOutput(joint=joint, per_modality=logits, features=features)
