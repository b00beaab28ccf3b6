"""Classification scores over arrays: accuracy, weighted F1, gold-class probability, loss.

These are the only implementations of these formulas in the package; the training loop
calls them once per epoch on host copies of the predictions.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def accuracy(labels: NDArray, predictions: NDArray) -> float:
    """Share of utterances whose predicted class equals the gold class."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    return float((labels == predictions).mean()) if len(labels) else float("nan")


def weighted_f1(labels: NDArray, predictions: NDArray, *, n_classes: int | None = None) -> float:
    r"""Support-weighted mean of the per-class F1 scores (sklearn's ``average="weighted"``).

    .. math:: \mathrm{wF1} = \sum_c \frac{n_c}{N} \, \frac{2\,TP_c}{2\,TP_c + FP_c + FN_c}

    where :math:`n_c` is the number of gold utterances of class :math:`c`. A class with
    no gold and no predicted utterance contributes 0 with weight 0.

    Examples
    --------
    >>> round(weighted_f1(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])), 4)
    0.7333
    """
    labels, predictions = np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)
    if not len(labels):
        return float("nan")
    C = n_classes or int(max(labels.max(), predictions.max())) + 1
    confusion = np.bincount(labels * C + predictions, minlength=C * C).reshape(C, C)
    tp = np.diag(confusion).astype(np.float64)
    support = confusion.sum(1)
    denominator = confusion.sum(1) + confusion.sum(0)  # 2TP + FP + FN
    f1 = np.divide(2 * tp, denominator, out=np.zeros(C), where=denominator > 0)
    return float((f1 * support).sum() / support.sum())


def gold_probability(probabilities: NDArray, labels: NDArray) -> NDArray:
    """``[N]`` probability that each row of ``probabilities`` ``[N, C]`` gives the gold class."""
    return np.take_along_axis(np.asarray(probabilities), np.asarray(labels)[:, None], axis=1)[:, 0]


def cross_entropy(probabilities: NDArray, labels: NDArray) -> float:
    """Mean negative log-probability of the gold class (clipped at 1e-12)."""
    return float(-np.log(np.clip(gold_probability(probabilities, labels), 1e-12, None)).mean())


def classification_scores(probabilities: NDArray, labels: NDArray) -> dict[str, float]:
    """``loss``, ``acc``, ``wf1`` and mean ``gold_prob`` of ``[N, C]`` probabilities."""
    predictions = np.asarray(probabilities).argmax(1)
    return {
        "loss": cross_entropy(probabilities, labels),
        "acc": accuracy(labels, predictions),
        "wf1": weighted_f1(labels, predictions, n_classes=np.asarray(probabilities).shape[1]),
        "gold_prob": float(gold_probability(probabilities, labels).mean()),
    }
