"""The curriculum arms: which utterances of a batch enter the loss.

Every arm runs the same training loop and computes the same SPCL difficulty (for the
trajectories); they differ only in the selection ``v``:

========================  ==================================================================
``none``                  ``v = 1`` everywhere (the baseline)
``spcl``                  ``v_j = [d_j <= lambda]`` with the harmonic-mean difficulty
``spcl-utterance``        ``v_j = [l_j <= lambda]`` (utterance term alone)
``spcl-conversation``     ``v_j = [c_j <= lambda]`` (conversation term alone)
``random``                as many utterances as the paired ``spcl`` run kept in the same
                          batch, chosen uniformly at random (seeded)
``anti``                  the same counts, the hardest utterances by the arm's own ``d``
========================  ==================================================================

``random`` and ``anti`` separate "training on fewer, easier samples" from "training on a
subset of the same size": their data budget equals SPCL's at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from spcl_diag.curriculum.difficulty import Difficulty, Terms

ARMS: tuple[str, ...] = ("none", "spcl", "random", "anti", "spcl-utterance", "spcl-conversation")
PACED_ARMS: tuple[str, ...] = ("random", "anti")  # arms that replay an spcl run's counts
THRESHOLD_ARMS: dict[str, Terms] = {"spcl": "both", "spcl-utterance": "utterance", "spcl-conversation": "conversation"}


@dataclass(frozen=True)
class PacingRecord:
    """Utterances kept by an ``spcl`` run in every batch: ``kept[e, b]`` of ``size[e, b]``."""

    kept: np.ndarray  # [epochs, batches] int64
    size: np.ndarray  # [epochs, batches] int64

    def save(self, path: str) -> None:
        np.savez(path, kept=self.kept, size=self.size)

    @classmethod
    def load(cls, path: str) -> PacingRecord:
        with np.load(path) as f:
            return cls(kept=f["kept"].astype(np.int64), size=f["size"].astype(np.int64))


def difficulty_terms(arm: str) -> Terms:
    """Which difficulty terms an arm ranks by (``both`` for all but the two ablations)."""
    return THRESHOLD_ARMS.get(arm, "both")


class Selector:
    """Chooses the kept utterances ``v`` of each batch for one arm.

    Parameters
    ----------
    arm
        One of :data:`ARMS`.
    pacing
        The paired ``spcl`` run's counts (required for ``random`` and ``anti``).
    generator
        Torch generator on the training device, for ``random``.
    """

    def __init__(self, arm: str, *, pacing: PacingRecord | None = None, generator: torch.Generator | None = None):
        if arm not in ARMS:
            raise ValueError(f"unknown curriculum arm {arm!r}; valid arms are {', '.join(ARMS)}.")
        if arm in PACED_ARMS and pacing is None:
            raise ValueError(f"arm {arm!r} needs the pacing record of its paired spcl run.")
        if arm == "random" and generator is None:
            raise ValueError("arm 'random' needs a torch.Generator.")
        self.arm = arm
        self.pacing = pacing
        self.generator = generator

    def select(self, difficulty: Difficulty, threshold: float, *, epoch: int, step: int) -> Tensor:
        """Boolean ``[N]`` mask of the utterances that enter the loss.

        ``epoch`` and ``step`` (0-based) locate the batch in the paired run's record.
        """
        d = difficulty.difficulty
        if self.arm == "none":
            return torch.ones_like(d, dtype=torch.bool)
        if self.arm in THRESHOLD_ARMS:
            return d <= threshold
        k = self._paired_count(epoch, step, len(d))
        scores = torch.rand(d.shape, generator=self.generator, device=d.device) if self.arm == "random" else d
        chosen = scores.topk(k, sorted=False).indices
        return torch.zeros_like(d, dtype=torch.bool).index_fill_(0, chosen, True)

    def _paired_count(self, epoch: int, step: int, n: int) -> int:
        assert self.pacing is not None
        if epoch >= self.pacing.kept.shape[0] or step >= self.pacing.kept.shape[1]:
            raise ValueError(
                f"the paired spcl run recorded {self.pacing.kept.shape[0]} epochs of "
                f"{self.pacing.kept.shape[1]} batches; epoch {epoch + 1}, batch {step + 1} is outside it."
            )
        if self.pacing.size[epoch, step] != n:
            raise ValueError(
                f"epoch {epoch + 1}, batch {step + 1} has {n} utterances but the paired spcl run's "
                f"batch had {self.pacing.size[epoch, step]}: the runs are not paired (same seed, "
                "data and batch size are required)."
            )
        return int(self.pacing.kept[epoch, step])


def selection_loss(utterance_loss: Tensor, keep: Tensor, *, normalisation: str) -> Tensor:
    r"""SPCL's selected loss.

    .. math:: \mathcal L = \frac{\sum_j v_j l_j}{N} \ (\text{``batch''}, \text{reference}) \quad
              \text{or} \quad \frac{\sum_j v_j l_j}{\max(1, \sum_j v_j)} \ (\text{``kept''})

    Examples
    --------
    >>> l = torch.tensor([1.0, 2.0, 3.0, 4.0])
    >>> v = torch.tensor([True, False, True, False])
    >>> selection_loss(l, v, normalisation="batch").item(), selection_loss(l, v, normalisation="kept").item()
    (1.0, 2.0)
    """
    kept_sum = (utterance_loss * keep).sum()
    if normalisation == "batch":
        return kept_sum / utterance_loss.shape[0]
    if normalisation == "kept":
        return kept_sum / keep.sum().clamp_min(1)
    raise ValueError(f"normalisation must be 'batch' or 'kept'; got {normalisation!r}.")
