r"""The SPCL rule of several arms at once, for stacked models (:mod:`spcl_diag.train.stacked`).

The arms of one seed train in lockstep on the same batches, so their logits come stacked,
``[A, N, C]``. :class:`StackedCurriculum` computes for all of them in one pass what
:class:`~spcl_diag.curriculum.self_paced.SelfPacedCurriculum` computes for one: the
difficulty terms :math:`l, c, d` (each arm ranks by its own terms: :math:`d` for ``spcl``,
``random`` and ``anti``, :math:`l` or :math:`c` alone for the ablations), the keep masks
:math:`v` and the selected losses, ``[A]``.

``random`` and ``anti`` keep as many utterances as the ``spcl`` arm of the same stack kept
in the same step, read on the device (nothing waits for a finished spcl run); without an
``spcl`` arm in the stack they replay a recorded :class:`~spcl_diag.curriculum.arms.PacingRecord`,
as a run of their own does. Each arm's selection equals its solo run's: the same functions
compute it (:func:`~spcl_diag.curriculum.difficulty.spcl_difficulty`'s terms, the one keep rule
:class:`~spcl_diag.curriculum.arms.KeepRule`, :func:`~spcl_diag.curriculum.arms.selection_loss`), and
the settings are checked by the same validator (:func:`~spcl_diag.curriculum.arms.check_curriculum`).

Examples
--------
Two arms, three utterances: ``none`` keeps everything, ``spcl`` what is below lambda = 0.3:

>>> import torch
>>> stack = StackedCurriculum(("none", "spcl"), lambda0=0.3, growth=2.0)
>>> joint = torch.tensor([[3.0, 0.0], [0.0, 0.1], [2.0, 0.0]]).expand(2, 3, 2)
>>> per_modality = {"t": joint, "a": torch.zeros(2, 3, 2)}
>>> step = stack.step(joint, per_modality, torch.tensor([0, 0, 0]), torch.tensor([0, 0, 1]), n_dialogues=2)
>>> step.keep.tolist()
[[True, True, True], [True, False, True]]
>>> [round(x, 4) for x in step.loss.tolist()]
[0.3066, 0.0585]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from spcl_diag.curriculum.arms import PacingRecord, selection_loss
from spcl_diag.curriculum.difficulty import (
    Difficulty,
    conversation_difficulty,
    harmonic_difficulty,
    utterance_difficulty,
)
from spcl_diag.curriculum.pacing import DEFAULT_GROWTH, DEFAULT_LAMBDA0, LAMBDA_CAP
from spcl_diag.curriculum.self_paced import CurriculumState


@dataclass(frozen=True)
class StackedStep:
    """One batch of every arm: ``loss`` ``[A]`` (with gradient), ``keep`` ``[A, N]``, terms ``[A, N]``."""

    loss: Tensor
    keep: Tensor
    difficulty: Difficulty
    threshold: float


class StackedCurriculum(CurriculumState):
    """The selection rule of the arms of a stack, on ``[A, N, C]`` logits.

    Parameters
    ----------
    arms
        One arm per stacked model, all different (:data:`~spcl_diag.curriculum.arms.ARMS`).
    lambda0, growth, cap, normalisation, class_weights
        As in :class:`~spcl_diag.curriculum.self_paced.SelfPacedCurriculum`, shared by the arms.
    pacing
        Arm -> the recorded counts it replays, for a ``random`` or ``anti`` arm whose stack has
        no ``spcl`` arm.
    generator
        Seeded ``torch.Generator`` on the training device, for the ``random`` arm.
    """

    def __init__(
        self,
        arms: Sequence[str],
        *,
        lambda0: float = DEFAULT_LAMBDA0,
        growth: float = DEFAULT_GROWTH,
        cap: float = LAMBDA_CAP,
        normalisation: str = "batch",
        pacing: Mapping[str, PacingRecord] | None = None,
        generator: torch.Generator | None = None,
        class_weights: Tensor | None = None,
    ) -> None:
        super().__init__("StackedCurriculum", tuple(arms), lambda0=lambda0, growth=growth, cap=cap,
                         normalisation=normalisation, pacing=dict(pacing or {}), generator=generator,
                         class_weights=class_weights)
        self.arms = tuple(arms)

    def step(
        self, joint: Tensor, per_modality: dict[str, Tensor], labels: Tensor, dialogue: Tensor, *, n_dialogues: int
    ) -> StackedStep:
        """Terms, keep masks and losses of one batch: logits ``[A, N, C]``, ``labels`` and batch-local ``dialogue`` ``[N]``."""
        difficulty = self._difficulty(joint, per_modality, labels, dialogue, n_dialogues, self.rule.masks(joint.device))
        lam = self.threshold.value
        keep = self.rule.keep(difficulty.difficulty, lam, epoch=self.counts.epochs, step=self.counts.batch)
        utterance_loss = utterance_loss_of(joint, labels, self.class_weights)
        loss = selection_loss(utterance_loss, keep, normalisation=self.normalisation)
        self.counts.add(keep.sum(-1), int(labels.shape[0]))
        return StackedStep(loss, keep, difficulty, lam)

    def pacing_record(self, arm: str) -> PacingRecord:
        """The counts ``arm`` kept in every batch of the finished epochs."""
        return self.counts.record(self.arms.index(arm))

    @torch.no_grad()
    def _difficulty(
        self, joint: Tensor, per_modality: dict[str, Tensor], labels: Tensor, dialogue: Tensor, n_dialogues: int,
        rows: dict[str, Tensor],
    ) -> Difficulty:
        """Every arm's terms, and its ``d``: the harmonic mean, or the one term an ablation ranks by."""
        utterance = utterance_difficulty(joint.detach(), labels)
        conversation = conversation_difficulty({m: z.detach() for m, z in per_modality.items()}, labels, dialogue, n_dialogues)
        if len(per_modality) < 2:  # c undefined: every arm ranks by l (spcl_difficulty's rule)
            difficulty = utterance
        else:
            both = harmonic_difficulty(utterance, conversation)
            difficulty = torch.where(rows["utterance"], utterance, torch.where(rows["conversation"], conversation, both))
        return Difficulty(utterance=utterance, conversation=conversation, difficulty=difficulty)


def utterance_loss_of(joint: Tensor, labels: Tensor, class_weights: Tensor | None) -> Tensor:
    """``[A, N]`` per-utterance (class-weighted) cross-entropy :math:`w_{y_j} l_j` of stacked logits."""
    flat = F.cross_entropy(
        joint.reshape(-1, joint.shape[-1]), labels.repeat(joint.shape[0]), weight=class_weights, reduction="none"
    )
    return flat.view(joint.shape[:-1])

