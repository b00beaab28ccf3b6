"""The output contract and base class shared by every backbone.

Every backbone maps a :class:`~spcl_diag.data.batching.Batch` to a :class:`ModelOutput`:
``joint`` logits ``[N, C]`` over the ``N`` real utterances, ``per_modality[m]`` logits
``[N, C]`` for each active modality, and optionally ``features[m]``. Unless a backbone
defines its own fusion, ``joint = sum_m per_modality[m]`` as in the SPCL reference code.

A backbone declares whether its per-modality logits are *pure* (computed from modality
``m`` alone) or *mixed* (cross-modal layers precede the heads) in ``PURE_HEADS``; the
imbalance metrics read it to say what a per-modality accuracy means.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor, nn

from spcl_diag.data.batching import Batch
from spcl_diag.modalities import parse_modalities


@dataclass
class ModelOutput:
    """What a backbone returns for one batch.

    Attributes
    ----------
    joint
        ``[N, C]`` logits used for prediction and for the trained loss.
    per_modality
        Modality -> ``[N, C]`` logits of that modality's head.
    features
        Optional modality -> ``[N, h]`` representations that feed the heads.
    auxiliary_loss
        Optional scalar added to the training loss by backbones that define one (Ada2I's
        feature-mapping loss); ``None`` otherwise.
    """

    joint: Tensor
    per_modality: dict[str, Tensor]
    features: dict[str, Tensor] = field(default_factory=dict)
    auxiliary_loss: Tensor | None = None


class Backbone(nn.Module):
    """Base class: stores the active modalities and names the parameter groups.

    Subclasses put modality-specific modules in ``self.branches[m]`` (an ``nn.ModuleDict``)
    and everything used by several modalities elsewhere; :meth:`parameter_groups` then
    reports gradient norms per modality and for the shared parameters.

    A backbone of your own (registered with :func:`spcl_diag.models.register_backbone`) is
    built as ``cls(modalities, dims, n_classes, n_speakers, config)``, calls
    ``super().__init__(modalities, n_classes)``, fills ``self.branches[m]`` for every active
    modality and returns a :class:`ModelOutput` from ``forward(batch)``. Per-modality gradient
    norms, OGM-GE / Ada2I balancing (which rescale ``parameter_groups()[m]``), masked and
    permuted evaluation and every metric then work on it unchanged. A modality whose branch
    is empty gets no gradient norm and cannot be balanced. Set ``PURE_HEADS = False`` when
    cross-modal layers precede the per-modality heads.
    """

    PURE_HEADS: bool = True

    def __init__(self, modalities: str, n_classes: int):
        super().__init__()
        self.modalities = parse_modalities(modalities)
        self.n_classes = n_classes
        self.branches = nn.ModuleDict()

    def forward(self, batch: Batch) -> ModelOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    def representation(self, batch: Batch) -> dict[str, Tensor]:
        """Modality -> ``[N, h]`` representation of each real utterance, read by linear probes.

        The default is :attr:`ModelOutput.features`, the inputs of the per-modality heads, which
        every built-in backbone returns: pure per-modality encodings for late fusion,
        DialogueGCN and BiDDIN, already cross-modal ones for MMGCN, MM-DFN and Ada2I (see
        ``PURE_HEADS``). A backbone that returns no features, or that keeps its unimodal
        representation elsewhere, overrides this method.
        """
        features = self(batch).features
        missing = [m for m in self.modalities if m not in features]
        if missing:
            raise NotImplementedError(
                f"{type(self).__name__} returns no features for modalities {''.join(missing)}; override "
                "Backbone.representation to say where a modality's representation is."
            )
        return {m: features[m] for m in self.modalities}

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Modality -> its own parameters, plus ``"shared"`` for all the others (may be empty)."""
        groups = {m: list(self.branches[m].parameters()) for m in self.modalities}
        own = {id(p) for params in groups.values() for p in params}
        groups["shared"] = [p for p in self.parameters() if id(p) not in own]
        return groups
