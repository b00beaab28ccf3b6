r"""SPCL for any PyTorch loop: difficulty, selection, loss and the growing threshold in one object.

:class:`SelfPacedCurriculum` is the SPCL rule of the built-in training loop
(:func:`spcl_diag.train.loop.train_run` uses it too), so a researcher's own loop gets the
same selection as the toolkit's:

1. difficulty per utterance (:func:`~spcl_diag.curriculum.difficulty.spcl_difficulty`):
   :math:`l_j` (joint cross-entropy), :math:`c_i` (modality disagreement of the dialogue),
   :math:`d_j = 2 l_j c_i / (l_j + c_i)`;
2. keep mask :math:`v` of the arm (:class:`~spcl_diag.curriculum.arms.KeepRule` with one arm, the
   rule the stacked arms share):
   :math:`v_j = [d_j \le \lambda]` for ``spcl``, all ones for ``none``, the paired ``spcl``
   run's counts for ``random`` / ``anti``;
3. loss :math:`\sum_j v_j l_j / N` (or ``/ max(1, sum v)``;
   :func:`~spcl_diag.curriculum.arms.selection_loss`);
4. :meth:`SelfPacedCurriculum.epoch_end`: :math:`\lambda \leftarrow \min(\lambda g, 60)`.

It also counts the utterances kept in every batch (:meth:`SelfPacedCurriculum.pacing_record`),
which the ``random`` and ``anti`` arms of the same seed replay.

Examples
--------
Three utterances of dialogues 7, 7 and 9, class 0; the audio head is undecided:

>>> import torch
>>> curriculum = SelfPacedCurriculum("spcl", lambda0=0.3, growth=2.0)
>>> joint = torch.tensor([[3.0, 0.0], [0.0, 0.1], [2.0, 0.0]], requires_grad=True)
>>> per_modality = {"t": joint.detach(), "a": torch.zeros(3, 2)}
>>> step = curriculum.step(joint, per_modality, torch.tensor([0, 0, 0]), torch.tensor([7, 7, 9]))
>>> [round(d, 4) for d in step.difficulty.difficulty.tolist()]
[0.0837, 0.43, 0.1725]
>>> step.keep.tolist(), round(step.loss.item(), 4)
([True, False, True], 0.0585)
>>> step.loss.backward()
>>> curriculum.epoch_end()
0.6
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from spcl_diag.curriculum.arms import (
    KeepRule,
    KeptCounts,
    PacingRecord,
    check_curriculum,
    difficulty_terms,
    selection_loss,
)
from spcl_diag.curriculum.difficulty import Difficulty, spcl_difficulty
from spcl_diag.curriculum.pacing import (
    DEFAULT_GROWTH,
    DEFAULT_LAMBDA0,
    LAMBDA_CAP,
    SelfPacedThreshold,
)


@dataclass(frozen=True)
class CurriculumStep:
    """What :meth:`SelfPacedCurriculum.step` returns for one batch.

    Attributes
    ----------
    loss
        Scalar training loss (with gradient): the selected joint cross-entropy.
    keep
        ``[N]`` bool, the utterances that entered the loss.
    difficulty
        ``[N]`` terms ``utterance`` (:math:`l`), ``conversation`` (:math:`c`) and
        ``difficulty`` (:math:`d`), without gradient.
    threshold
        :math:`\\lambda` used for this batch.
    epoch, index
        0-based epoch and batch index within the epoch.
    """

    loss: Tensor
    keep: Tensor
    difficulty: Difficulty
    threshold: float
    epoch: int
    index: int


class CurriculumState:
    """What both curricula hold and do alike: the checked settings, the keep rule of their arms, the
    threshold :math:`\\lambda` and the kept counts (:class:`SelfPacedCurriculum` for one arm,
    :class:`~spcl_diag.curriculum.stacked.StackedCurriculum` for a stack)."""

    def __init__(
        self, owner: str, arms: tuple[str, ...], *, lambda0: float, growth: float, cap: float, normalisation: str,
        pacing: dict[str, PacingRecord], generator: torch.Generator | None, class_weights: Tensor | None,
    ) -> None:
        check_curriculum(owner, arms, lambda0=lambda0, growth=growth, cap=cap, normalisation=normalisation,
                         pacing=pacing, generator=generator)
        self.normalisation = normalisation
        self.class_weights = class_weights
        self.rule = KeepRule(arms, pacing=pacing, generator=generator)
        self.threshold = SelfPacedThreshold(lambda0, growth, cap)
        self.counts = KeptCounts()

    @property
    def value(self) -> float:
        """The current threshold :math:`\\lambda` (the same for every arm of a stack)."""
        return self.threshold.value

    def epoch_end(self) -> float:
        """Close the epoch (after the dev evaluation): grow :math:`\\lambda`; return its new value."""
        self.counts.close_epoch()
        return self.threshold.step()

    def kept_counts(self, epoch: int) -> np.ndarray:
        """``[batches]`` (one arm) or ``[batches, A]`` (a stack) utterances kept in each batch of ``epoch`` (0-based), on the host."""
        return self.counts.epoch(epoch)


class SelfPacedCurriculum(CurriculumState):
    """The SPCL selection rule and its controls, for one run.

    Parameters
    ----------
    arm
        ``"spcl"`` (default), ``"none"``, ``"spcl-utterance"``, ``"spcl-conversation"``,
        ``"random"`` or ``"anti"`` (:data:`~spcl_diag.curriculum.arms.ARMS`).
    lambda0, growth, cap
        Initial threshold, its growth factor per epoch and its cap (SPCL reference defaults
        0.4, 1.25 and 60; :func:`~spcl_diag.curriculum.pacing.spcl_preset` gives the
        per-backbone presets).
    normalisation
        Loss divisor: ``"batch"`` (:math:`N`, reference) or ``"kept"``.
    pacing
        For ``random`` and ``anti``: the paired ``spcl`` run's counts, a
        :class:`~spcl_diag.curriculum.arms.PacingRecord` (e.g. another curriculum's
        :meth:`pacing_record`) or the path of a run's ``pacing.npz``.
    generator
        Seeded ``torch.Generator`` on the training device, required by ``random``.
    class_weights
        Optional ``[C]`` class weights :math:`w` of the loss, :math:`\\sum_j v_j w_{y_j} l_j / N`
        (e.g. inverse training frequency); the difficulty keeps the unweighted :math:`l_j`.
    """

    def __init__(
        self,
        arm: str = "spcl",
        *,
        lambda0: float = DEFAULT_LAMBDA0,
        growth: float = DEFAULT_GROWTH,
        cap: float = LAMBDA_CAP,
        normalisation: str = "batch",
        pacing: PacingRecord | str | None = None,
        generator: torch.Generator | None = None,
        class_weights: Tensor | None = None,
    ) -> None:
        record = PacingRecord.load(str(pacing)) if isinstance(pacing, str) else pacing
        super().__init__("SelfPacedCurriculum", (arm,), lambda0=lambda0, growth=growth, cap=cap,
                         normalisation=normalisation, pacing={arm: record} if record is not None else {},
                         generator=generator, class_weights=class_weights)
        self.arm = arm
        self.terms = difficulty_terms(arm)

    def step(
        self,
        joint: Tensor,
        per_modality: dict[str, Tensor],
        labels: Tensor,
        dialogue: Tensor,
        *,
        n_dialogues: int | None = None,
    ) -> CurriculumStep:
        """Difficulty, keep mask and loss of one training batch.

        Parameters
        ----------
        joint
            ``[N, C]`` joint logits (with gradient) of the batch's ``N`` utterances.
        per_modality
            Modality -> ``[N, C]`` logits of that modality's head.
        labels
            ``[N]`` gold classes.
        dialogue
            ``[N]`` dialogue of each utterance: any integer ids (a dialogue index into the
            dataset, say), or batch-local indices ``0..n_dialogues-1`` with ``n_dialogues``.
        n_dialogues
            Give it when ``dialogue`` already holds batch-local indices (saves a device sync).
        """
        if n_dialogues is None:
            _, dialogue = torch.unique(dialogue, return_inverse=True)
            n_dialogues = int(dialogue.max()) + 1 if len(dialogue) else 0
        difficulty = spcl_difficulty(joint, per_modality, labels, dialogue, n_dialogues, terms=self.terms)
        lam = self.threshold.value
        epoch, index = self.epoch, self.counts.batch
        keep = self.rule.keep(difficulty.difficulty.unsqueeze(0), lam, epoch=epoch, step=index)[0]
        utterance_loss = F.cross_entropy(joint, labels, weight=self.class_weights, reduction="none")  # w_y l_j
        loss = selection_loss(utterance_loss, keep, normalisation=self.normalisation)
        self.counts.add(keep.sum(), int(labels.shape[0]))
        return CurriculumStep(loss, keep, difficulty, lam, epoch, index)

    @property
    def epoch(self) -> int:
        """0-based index of the current epoch."""
        return self.counts.epochs

    def pacing_record(self) -> PacingRecord:
        """Kept counts and batch sizes of every finished epoch (zero-padded to the longest)."""
        return self.counts.record()
