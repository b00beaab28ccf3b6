"""Classification scores over arrays: accuracy, weighted and macro F1, per-class F1, confusion.

These are the only implementations of these formulas in the package; the training loop
calls them once per epoch on host copies of the predictions. The F1 definitions are
scikit-learn's (``f1_score`` with ``average="weighted"``, ``"macro"`` and ``None``) and the
tests check them against it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Normalize = Literal["true", "pred", "all"]


def accuracy(labels: NDArray, predictions: NDArray) -> float:
    """Share of utterances whose predicted class equals the gold class."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    return float((labels == predictions).mean()) if len(labels) else float("nan")


def confusion_matrix(
    labels: NDArray, predictions: NDArray, *, n_classes: int | None = None, normalize: Normalize | None = None
) -> NDArray:
    r"""``[C, C]`` counts :math:`M_{ij}` of utterances of gold class :math:`i` predicted as :math:`j`.

    As ``sklearn.metrics.confusion_matrix`` with ``labels=range(C)``: rows are gold classes,
    columns predictions. ``normalize="true"`` divides each row by its sum (recall on the
    diagonal), ``"pred"`` each column (precision on the diagonal), ``"all"`` by :math:`N`;
    an empty row or column stays 0.

    Parameters
    ----------
    labels, predictions
        ``[N]`` integer classes.
    n_classes
        :math:`C`; default: one more than the largest class seen.
    normalize
        ``None`` (counts, int64), ``"true"``, ``"pred"`` or ``"all"`` (float64).

    Examples
    --------
    >>> confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]), n_classes=3)
    array([[1, 1, 0],
           [0, 1, 0],
           [0, 1, 0]])
    """
    labels, predictions = np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(f"labels and predictions must be 1-D of one length; got {labels.shape} and {predictions.shape}.")
    seen = int(max(labels.max(), predictions.max())) + 1 if len(labels) else 0
    C = n_classes if n_classes is not None else seen
    if seen > C or (len(labels) and min(labels.min(), predictions.min()) < 0):
        raise ValueError(f"classes must lie in 0..{C - 1}; found {min(labels.min(), predictions.min())}..{seen - 1}.")
    counts = np.bincount(labels * C + predictions, minlength=C * C).reshape(C, C)
    if normalize is None:
        return counts
    if normalize not in ("true", "pred", "all"):
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all'; got {normalize!r}.")
    total = {"true": counts.sum(1, keepdims=True), "pred": counts.sum(0, keepdims=True), "all": counts.sum()}[normalize]
    return np.divide(counts, total, out=np.zeros((C, C)), where=np.asarray(total) > 0)


def per_class_f1(labels: NDArray, predictions: NDArray, *, n_classes: int | None = None) -> NDArray:
    r"""``[C]`` F1 of each class, NaN for a class with no gold and no predicted utterance.

    .. math:: F1_c = \frac{2\,TP_c}{2\,TP_c + FP_c + FN_c}

    Equal to ``sklearn.metrics.f1_score(labels, predictions, average=None,
    labels=range(C), zero_division=np.nan)``.

    Examples
    --------
    >>> per_class_f1(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), n_classes=3).round(4)
    array([0.6667, 0.8   ,    nan])
    """
    confusion = confusion_matrix(labels, predictions, n_classes=n_classes)
    tp = np.diag(confusion).astype(np.float64)
    denominator = confusion.sum(1) + confusion.sum(0)  # 2TP + FP + FN
    return np.divide(2 * tp, denominator, out=np.full(len(tp), np.nan), where=denominator > 0)


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
    labels = np.asarray(labels, dtype=np.int64)
    if not len(labels):
        return float("nan")
    f1 = np.nan_to_num(per_class_f1(labels, predictions, n_classes=n_classes))
    support = np.bincount(labels, minlength=len(f1))
    return float((f1 * support).sum() / support.sum())


def macro_f1(labels: NDArray, predictions: NDArray, *, n_classes: int | None = None) -> float:
    r"""Unweighted mean of the per-class F1 over the classes that occur (sklearn's ``average="macro"``).

    .. math:: \mathrm{mF1} = \frac{1}{|K|} \sum_{c \in K} F1_c, \quad
              K = \{c : n_c > 0 \text{ or } \hat n_c > 0\}

    :math:`K` holds the classes with a gold or a predicted utterance, as scikit-learn's
    default; every class weighs the same, so a rare class (MELD's fear, disgust) counts as
    much as neutral, unlike in :func:`weighted_f1`.

    Examples
    --------
    >>> round(macro_f1(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), n_classes=3), 4)
    0.7333
    >>> round(macro_f1(np.array([0, 0, 0, 1]), np.array([0, 0, 0, 0])), 4)
    0.4286
    """
    if not len(np.asarray(labels)):
        return float("nan")
    return float(np.nanmean(per_class_f1(labels, predictions, n_classes=n_classes)))


def gold_probability(probabilities: NDArray, labels: NDArray) -> NDArray:
    """``[N]`` probability that each row of ``probabilities`` ``[N, C]`` gives the gold class."""
    return np.take_along_axis(np.asarray(probabilities), np.asarray(labels)[:, None], axis=1)[:, 0]


def cross_entropy(probabilities: NDArray, labels: NDArray) -> float:
    """Mean negative log-probability of the gold class (clipped at 1e-12)."""
    return float(-np.log(np.clip(gold_probability(probabilities, labels), 1e-12, None)).mean())


def classification_scores(probabilities: NDArray, labels: NDArray) -> dict[str, float]:
    """``loss``, ``acc``, ``wf1``, ``macro_f1`` and mean ``gold_prob`` of ``[N, C]`` probabilities."""
    predictions = np.asarray(probabilities).argmax(1)
    C = np.asarray(probabilities).shape[1]
    return {
        "loss": cross_entropy(probabilities, labels),
        "acc": accuracy(labels, predictions),
        "wf1": weighted_f1(labels, predictions, n_classes=C),
        "macro_f1": macro_f1(labels, predictions, n_classes=C),
        "gold_prob": float(gold_probability(probabilities, labels).mean()),
    }


def class_key(name: str) -> str:
    """A class name as a column-safe key: lower case, runs of other characters as ``_``.

    Examples
    --------
    >>> class_key("Fear"), class_key("hap/exc")
    ('fear', 'hap_exc')
    """
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or "class"


def per_class_scores(probabilities: NDArray, labels: NDArray, class_names: Sequence[str]) -> dict[str, float]:
    """``f1_class_<name>`` of ``[N, C]`` probabilities for every class (names as :func:`class_key`).

    Examples
    --------
    >>> per_class_scores(np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), np.array([0, 1, 1]), ["neu", "Fear"])
    {'f1_class_neu': 0.6666666666666666, 'f1_class_fear': 0.6666666666666666}
    """
    keys = [class_key(n) for n in class_names]
    if len(set(keys)) != len(keys):
        raise ValueError(f"class names {list(class_names)} are not distinct as column keys {keys}.")
    f1 = per_class_f1(labels, np.asarray(probabilities).argmax(1), n_classes=len(keys))
    return {f"f1_class_{k}": float(v) for k, v in zip(keys, f1)}


def scope_scores(
    probabilities: Mapping[str, NDArray], labels: NDArray, class_names: Sequence[str]
) -> dict[str, dict[str, float]]:
    """:func:`classification_scores` and :func:`per_class_scores` of every scope (``joint``, ``t``, ...).

    Examples
    --------
    >>> p = {"joint": np.array([[0.9, 0.1], [0.3, 0.7]]), "a": np.array([[0.4, 0.6], [0.3, 0.7]])}
    >>> scores = scope_scores(p, np.array([0, 1]), ["neu", "ang"])
    >>> scores["joint"]["f1_class_ang"], scores["a"]["macro_f1"]
    (1.0, 0.3333333333333333)
    """
    return {
        scope: classification_scores(p, labels) | per_class_scores(p, labels, class_names)
        for scope, p in probabilities.items()
    }
