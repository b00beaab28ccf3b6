r"""SPCL difficulty of each training utterance (Nguyen et al., arXiv 2605.21565, 2026).

For a batch with joint logits :math:`z`, per-modality logits :math:`z^m` and gold labels
:math:`y`:

* utterance term :math:`l_j = \mathrm{CE}(z_j, y_j)`;
* conversation term of dialogue :math:`i`: :math:`S_i^m = \sum_{j \in i} p^m_j(y_j)` (a sum
  over the dialogue's utterances, as in the reference code) and
  :math:`c_i = \mathrm{std}_{m \in S}(S_i^m)` with the :math:`N-1` denominator; every
  utterance of dialogue :math:`i` gets :math:`c_i`;
* difficulty :math:`d_j = 2 l_j c_i / (l_j + c_i)`, the harmonic mean, 0 when either is 0.

With one active modality :math:`c_i` is undefined: the term is dropped and :math:`d_j = l_j`.
(The reference code computes a standard deviation of one value, gets NaN, and ``NaN <= lambda``
is false, so it silently keeps no utterance and trains on nothing.)

The ablations of the referee use one term alone: ``terms="utterance"`` gives :math:`d = l`,
``terms="conversation"`` gives :math:`d = c` (single-modality runs fall back to :math:`l`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

Terms = Literal["both", "utterance", "conversation"]


@dataclass(frozen=True)
class Difficulty:
    """Per-utterance difficulty of a batch (all ``[N]``, detached from the graph).

    ``conversation`` is NaN where the term is undefined (one active modality).
    """

    utterance: Tensor
    conversation: Tensor
    difficulty: Tensor


def utterance_difficulty(joint_logits: Tensor, labels: Tensor) -> Tensor:
    """Per-utterance cross-entropy :math:`l_j` of the joint logits ``[..., N, C]``: ``[..., N]``.

    Leading dimensions are stacked models (:mod:`spcl_diag.train.stacked`), scored on the same labels.
    """
    if joint_logits.dim() == 2:
        return F.cross_entropy(joint_logits, labels, reduction="none")
    flat_labels = labels.expand(joint_logits.shape[:-1]).reshape(-1)
    return F.cross_entropy(joint_logits.reshape(-1, joint_logits.shape[-1]), flat_labels, reduction="none").view(
        joint_logits.shape[:-1]
    )


def conversation_difficulty(
    per_modality_logits: dict[str, Tensor], labels: Tensor, dialogue: Tensor, n_dialogues: int
) -> Tensor:
    r"""Modality disagreement :math:`c_i` of each utterance's dialogue, ``[N]``.

    Parameters
    ----------
    per_modality_logits
        Modality -> ``[N, C]`` logits (or ``[..., N, C]``, leading dimensions being stacked models).
    labels
        ``[N]`` gold classes.
    dialogue
        ``[N]`` batch-local dialogue index of each utterance (``0..n_dialogues-1``).
    n_dialogues
        Number of dialogues ``B`` in the batch.

    Returns
    -------
    Tensor
        ``[N]`` (``[..., N]``); NaN everywhere when fewer than two modalities are active.
    """
    gold = torch.stack(
        [
            logits.softmax(-1).gather(-1, labels.expand(logits.shape[:-1]).unsqueeze(-1)).squeeze(-1)
            for logits in per_modality_logits.values()
        ],
        dim=-2,
    )  # [..., M, N]
    if gold.shape[-2] < 2:
        return gold.new_full((*gold.shape[:-2], gold.shape[-1]), float("nan"))
    sums = gold.new_zeros(*gold.shape[:-1], n_dialogues).index_add_(-1, dialogue, gold)  # S_i^m, [..., M, B]
    return sums.std(dim=-2, unbiased=True).index_select(-1, dialogue)


def harmonic_difficulty(utterance: Tensor, conversation: Tensor) -> Tensor:
    r""":math:`2 l c / (l + c)`, defined as 0 where :math:`l = 0` or :math:`c = 0`."""
    total = utterance + conversation
    product = 2 * utterance * conversation
    return torch.where(product > 0, product / total.clamp_min(torch.finfo(total.dtype).tiny), torch.zeros_like(total))


@torch.no_grad()
def spcl_difficulty(
    joint_logits: Tensor,
    per_modality_logits: dict[str, Tensor],
    labels: Tensor,
    dialogue: Tensor,
    n_dialogues: int,
    *,
    terms: Terms = "both",
) -> Difficulty:
    """Both SPCL terms and the difficulty that the selection rule compares with lambda.

    Examples
    --------
    Two dialogues, two modalities; the second dialogue's modalities disagree more:

    >>> z = torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 0.0]])
    >>> zm = {"t": torch.tensor([[3.0, 0.0], [0.0, 3.0], [3.0, 0.0]]),
    ...       "a": torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 3.0]])}
    >>> d = spcl_difficulty(z, zm, torch.tensor([0, 1, 0]), torch.tensor([0, 0, 1]), 2)
    >>> [round(x, 4) for x in d.conversation.tolist()]
    [0.3133, 0.3133, 0.64]
    """
    utterance = utterance_difficulty(joint_logits.detach(), labels)
    conversation = conversation_difficulty(
        {m: z.detach() for m, z in per_modality_logits.items()}, labels, dialogue, n_dialogues
    )
    single_modality = len(per_modality_logits) < 2
    if terms == "utterance" or single_modality:
        difficulty = utterance
    elif terms == "conversation":
        difficulty = conversation
    else:
        difficulty = harmonic_difficulty(utterance, conversation)
    return Difficulty(utterance=utterance, conversation=conversation, difficulty=difficulty)
