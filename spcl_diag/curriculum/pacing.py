r"""Self-paced threshold schedule and the SPCL presets.

After every epoch (after the dev evaluation) the threshold grows geometrically up to a cap:

.. math:: \lambda_{e+1} = \min(\lambda_e \cdot g, \lambda_{\max}), \qquad \lambda_{\max} = 60

Presets of :math:`(\lambda_0, g)` per backbone, dataset and modality set are those of the
SPCL reference README (Nguyen et al., arXiv 2605.21565, 2026); late fusion and
single-modality runs have none and use the reference defaults 0.4 / 1.25.
"""

from __future__ import annotations

from dataclasses import dataclass

from spcl_diag.modalities import parse_modalities

DEFAULT_LAMBDA0 = 0.4
DEFAULT_GROWTH = 1.25
LAMBDA_CAP = 60.0

# (backbone, dataset family, modalities) -> (lambda0, growth); SPCL README table.
_PRESETS: dict[tuple[str, str], dict[str, tuple[float, float]]] = {
    ("biddin", "iemocap"): {"tav": (0.7, 1.85), "ta": (1.0, 1.85), "tv": (0.7, 1.85), "av": (0.4, 1.85)},
    ("biddin", "meld"): {"tav": (0.75, 1.05), "ta": (1.0, 1.05), "tv": (0.8, 1.05), "av": (0.75, 1.05)},
    ("dialogue_gcn", "iemocap"): {"tav": (0.7, 1.25), "ta": (0.65, 1.25), "tv": (0.7, 1.2), "av": (0.8, 1.25)},
    ("dialogue_gcn", "meld"): {"tav": (0.7, 1.25), "ta": (0.7, 1.25), "tv": (0.7, 1.25), "av": (0.7, 1.25)},
    ("mm_dfn", "iemocap"): {"tav": (0.4, 1.2), "ta": (0.35, 1.1), "tv": (0.4, 1.25), "av": (0.35, 1.1)},
    ("mm_dfn", "meld"): {"tav": (0.2, 1.6), "ta": (0.2, 1.6), "tv": (0.2, 1.8), "av": (0.2, 1.6)},
    ("mmgcn", "iemocap"): {"tav": (0.4, 1.1), "ta": (1.3, 1.4), "tv": (1.3, 1.4), "av": (1.3, 1.4)},
    ("mmgcn", "meld"): {"tav": (0.4, 1.25), "ta": (0.4, 1.7), "tv": (0.4, 1.6), "av": (0.4, 1.6)},
}


def dataset_family(dataset: str) -> str:
    """``"iemocap"``, ``"meld"`` or ``"other"`` from a dataset name or file path."""
    lowered = dataset.lower()
    for family in ("iemocap", "meld"):
        if family in lowered:
            return family
    return "other"


def spcl_preset(backbone: str, dataset: str, modalities: str) -> tuple[float, float]:
    """The reference ``(lambda0, growth)`` for a backbone, dataset and modality set.

    The modality set may be spelt in any order (``"at"`` is ``"ta"``); it is put in the
    canonical ``t, a, v`` order of the table first.

    Examples
    --------
    >>> spcl_preset("mmgcn", "iemocap-text", "tav")
    (0.4, 1.1)
    >>> spcl_preset("mm_dfn", "iemocap", "at") == spcl_preset("mm_dfn", "iemocap", "ta") == (0.35, 1.1)
    True
    >>> spcl_preset("late_fusion", "synthetic", "tav")
    (0.4, 1.25)
    """
    table = _PRESETS.get((backbone, dataset_family(dataset)), {})
    return table.get(parse_modalities(modalities), (DEFAULT_LAMBDA0, DEFAULT_GROWTH))


@dataclass
class SelfPacedThreshold:
    """The threshold :math:`\\lambda` of one run; :meth:`step` after each epoch's dev evaluation."""

    value: float
    growth: float
    cap: float = LAMBDA_CAP

    def step(self) -> float:
        self.value = min(self.value * self.growth, self.cap)
        return self.value
