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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from spcl_diag.curriculum.difficulty import Terms
from spcl_diag.curriculum.names import (  # defined without torch, for configs and grids
    ARMS,
    PACED_ARMS,
    unknown_arm_problem,
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


class KeepRule:
    r"""The keep masks :math:`v` of ``A`` arms at once, one vectorised rule over ``[A, N]``.

    Both curricula call it: :class:`~spcl_diag.curriculum.self_paced.SelfPacedCurriculum` with
    ``A = 1`` and :class:`~spcl_diag.curriculum.stacked.StackedCurriculum` with the arms of a stack.
    Per arm :math:`a` with difficulty :math:`d_a` (the term the arm ranks by):

    * ``none``: :math:`v = 1`; threshold arms: :math:`v_j = [d_{a,j} \le \lambda]`;
    * ``random`` / ``anti``: the :math:`k` largest scores (:func:`top_k_mask`), the scores being a
      uniform draw (``random``, ``torch.rand(N, generator=generator)``, one draw per step) or
      :math:`d_a` (``anti``); :math:`k` is what the ``spcl`` arm of the same stack kept in this
      step, or, without one, the arm's pacing record (:func:`paired_count`).

    Parameters
    ----------
    arms
        The arms, all different (checked by :func:`check_curriculum`).
    pacing
        Arm -> recorded counts, read only for paced arms whose stack has no ``spcl`` arm.
    generator
        Seeded ``torch.Generator`` on the training device, drawn from only when ``random`` is an arm.

    Examples
    --------
    >>> rule = KeepRule(("none", "spcl", "anti"))
    >>> rule.keep(torch.tensor([[0.2, 0.9, 0.5]]).expand(3, 3), 0.6, epoch=0, step=0).tolist()
    [[True, True, True], [True, False, True], [False, True, True]]
    """

    def __init__(
        self, arms: Sequence[str], *, pacing: Mapping[str, PacingRecord] | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        self.arms = tuple(arms)
        self.generator = generator
        self._spcl = self.arms.index("spcl") if "spcl" in self.arms else None
        self.pacing = {a: (pacing or {})[a] for a in self.arms if a in PACED_ARMS and self._spcl is None}
        self._paced = any(a in PACED_ARMS for a in self.arms)
        self._random = "random" in self.arms
        self._masks: dict[str, Tensor] = {}

    def masks(self, device: torch.device) -> dict[str, Tensor]:
        """``[A, 1]`` bool masks: which arms keep all, are paced, draw at random, rank by one term."""
        if not self._masks:
            def rows(test: list[bool]) -> Tensor:
                return torch.tensor(test, device=device).unsqueeze(-1)
            self._masks = {
                "none": rows([a == "none" for a in self.arms]),
                "paced": rows([a in PACED_ARMS for a in self.arms]),
                "random": rows([a == "random" for a in self.arms]),
                "utterance": rows([difficulty_terms(a) == "utterance" for a in self.arms]),
                "conversation": rows([difficulty_terms(a) == "conversation" for a in self.arms]),
            }
        return self._masks

    def keep(self, difficulty: Tensor, threshold: float, *, epoch: int, step: int) -> Tensor:
        """Bool ``[A, N]`` keep masks from each arm's ``[A, N]`` difficulty; ``epoch``, ``step`` 0-based."""
        rows = self.masks(difficulty.device)
        keep = (difficulty <= threshold) | rows["none"]
        if not self._paced:
            return keep
        scores = difficulty
        if self._random:  # the random arm's own draw, as its solo run makes it
            draw = torch.rand(difficulty.shape[-1], generator=self.generator, device=difficulty.device)
            scores = torch.where(rows["random"], draw, difficulty)
        counts = self._paced_counts(keep, epoch, step, difficulty.shape[-1])
        return torch.where(rows["paced"], top_k_mask(scores, counts), keep)

    def _paced_counts(self, keep: Tensor, epoch: int, step: int, size: int) -> Tensor:
        """``[A]`` utterances each paced arm keeps: the spcl arm's count of this step, or its record's."""
        counts = torch.zeros(len(self.arms), dtype=torch.long, device=keep.device)
        if self._spcl is not None:
            return counts + keep[self._spcl].sum()
        for a, arm in enumerate(self.arms):
            if arm in self.pacing:
                counts[a] = paired_count(self.pacing[arm], epoch, step, size)
        return counts


def check_curriculum(
    owner: str, arms: Sequence[str], *, lambda0: float, growth: float, cap: float, normalisation: str,
    pacing: Mapping[str, PacingRecord], generator: torch.Generator | None,
) -> None:
    r"""Raise one ``ValueError`` (prefixed with ``owner``) listing every problem of a curriculum's settings.

    The one validator of both curricula: known and distinct arms, a pacing record for every paced
    arm without the ``spcl`` arm beside it, a generator for ``random``, :math:`\lambda_0 \ge 0`,
    growth and cap :math:`> 0`, normalisation ``batch`` or ``kept``.
    """
    arms = tuple(arms)
    problems = [unknown_arm_problem(a) for a in arms if a not in ARMS]
    if len(set(arms)) != len(arms):
        problems.append(f"every arm of a stack must differ; got {', '.join(arms)}")
    problems += [f"arm {a!r} needs the pacing record of its paired spcl run (or the spcl arm in its stack)"
                 for a in arms if a in PACED_ARMS and "spcl" not in arms and a not in pacing]
    if "random" in arms and generator is None:
        problems.append("arm 'random' needs a torch.Generator")
    if not (lambda0 >= 0 and growth > 0 and cap > 0):
        problems.append(f"lambda0 must be >= 0 and growth and cap > 0; got {lambda0}, {growth}, {cap}")
    if normalisation not in ("batch", "kept"):
        problems.append(f"normalisation must be 'batch' or 'kept'; got {normalisation!r}")
    if problems:
        raise ValueError(f"{owner}: " + "; ".join(problems) + ".")


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
