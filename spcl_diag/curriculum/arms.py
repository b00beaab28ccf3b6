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
from spcl_diag.curriculum.names import (  # defined without torch, for configs and grids
    ARMS,
    PACED_ARMS,
)

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


class KeptCounts:
    """Utterances kept in every batch of every epoch, counted on the device.

    A count is a ``[]`` tensor for one run, ``[A]`` for a stack of arms; the counts reach the
    host once per epoch (:meth:`epoch`), not once per step.
    """

    def __init__(self) -> None:
        self._kept: list[list[Tensor]] = [[]]  # per epoch: the count of each batch
        self._sizes: list[list[int]] = [[]]

    @property
    def epochs(self) -> int:
        """Finished epochs."""
        return len(self._kept) - 1

    @property
    def batch(self) -> int:
        """0-based index of the next batch of the open epoch."""
        return len(self._kept[-1])

    def add(self, kept: Tensor, size: int) -> None:
        self._kept[-1].append(kept)
        self._sizes[-1].append(size)

    def close_epoch(self) -> None:
        self._kept.append([])
        self._sizes.append([])

    def epoch(self, epoch: int) -> np.ndarray:
        """``[batches, ...]`` counts of ``epoch`` (0-based), on the host."""
        kept = self._kept[epoch]
        return torch.stack(kept).cpu().numpy().astype(np.int64) if kept else np.zeros(0, np.int64)

    def record(self, arm: int | None = None) -> PacingRecord:
        """The counts of every finished epoch (of stacked arm ``arm``), zero-padded to the longest epoch."""
        n_batches = max((len(s) for s in self._sizes[: self.epochs]), default=0)
        kept = np.zeros((self.epochs, n_batches), np.int64)
        size = np.zeros((self.epochs, n_batches), np.int64)
        for e in range(self.epochs):
            counts = self.epoch(e)
            counts = counts if arm is None or not len(counts) else counts[:, arm]
            kept[e, : len(counts)] = counts
            size[e, : len(self._sizes[e])] = self._sizes[e]
        return PacingRecord(kept=kept, size=size)


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
        return top_k_mask(scores, k)

    def _paired_count(self, epoch: int, step: int, n: int) -> int:
        assert self.pacing is not None
        return paired_count(self.pacing, epoch, step, n)


def paired_count(pacing: PacingRecord, epoch: int, step: int, n: int) -> int:
    """The count a paired run kept in batch ``step`` of ``epoch`` (0-based), checked to be the same batch."""
    if epoch >= pacing.kept.shape[0] or step >= pacing.kept.shape[1]:
        raise ValueError(
            f"the paired spcl run recorded {pacing.kept.shape[0]} epochs of "
            f"{pacing.kept.shape[1]} batches; epoch {epoch + 1}, batch {step + 1} is outside it."
        )
    if pacing.size[epoch, step] != n:
        raise ValueError(
            f"epoch {epoch + 1}, batch {step + 1} has {n} utterances but the paired spcl run's "
            f"batch had {pacing.size[epoch, step]}: the runs are not paired (same seed, "
            "data and batch size are required)."
        )
    return int(pacing.kept[epoch, step])


def top_k_mask(scores: Tensor, k: int | Tensor) -> Tensor:
    """Boolean mask of the ``k`` largest ``scores`` along the last dimension; ties go to the earlier position.

    ``scores`` ``[..., N]``; ``k`` an integer or a ``[...]`` tensor of counts (one per row, e.g.
    one per stacked arm). The set is the one ``topk`` returns when no scores tie; with ties it
    is still unique (a stable descending sort ranks equal scores by position), so a run and
    its stacked twin choose the same utterances.

    Examples
    --------
    >>> top_k_mask(torch.tensor([0.2, 0.9, 0.2, 0.5]), 3).tolist()
    [True, True, False, True]
    >>> top_k_mask(torch.tensor([[1.0, 2.0], [1.0, 2.0]]), torch.tensor([0, 1])).tolist()
    [[False, False], [False, True]]
    """
    order = scores.argsort(dim=-1, descending=True, stable=True)
    positions = torch.arange(scores.shape[-1], device=scores.device).expand_as(order)
    rank = torch.empty_like(order).scatter_(-1, order, positions)  # rank[i] = place of scores[i] in the order
    k = torch.as_tensor(k, device=scores.device)
    return rank < k.unsqueeze(-1) if k.dim() else rank < k


def selection_loss(utterance_loss: Tensor, keep: Tensor, *, normalisation: str) -> Tensor:
    r"""SPCL's selected loss, over the last dimension (``[N]`` -> scalar, ``[A, N]`` -> ``[A]`` for stacked arms).

    .. math:: \mathcal L = \frac{\sum_j v_j l_j}{N} \ (\text{``batch''}, \text{reference}) \quad
              \text{or} \quad \frac{\sum_j v_j l_j}{\max(1, \sum_j v_j)} \ (\text{``kept''})

    Examples
    --------
    >>> l = torch.tensor([1.0, 2.0, 3.0, 4.0])
    >>> v = torch.tensor([True, False, True, False])
    >>> selection_loss(l, v, normalisation="batch").item(), selection_loss(l, v, normalisation="kept").item()
    (1.0, 2.0)
    """
    kept_sum = (utterance_loss * keep).sum(-1)
    if normalisation == "batch":
        return kept_sum / utterance_loss.shape[-1]
    if normalisation == "kept":
        return kept_sum / keep.sum(-1).clamp_min(1)
    raise ValueError(f"normalisation must be 'batch' or 'kept'; got {normalisation!r}.")
