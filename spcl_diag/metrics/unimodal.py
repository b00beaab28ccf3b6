"""Per-modality scores and their spread: how far apart the unimodal heads are.

Every function takes ``probs``, a mapping modality -> ``[N, C]`` softmax probabilities of
that modality's head (``ModelOutput.per_modality``), and the ``[N]`` gold ``labels``. What a
per-modality score means depends on the backbone: with *pure* heads
(``Backbone.PURE_HEADS``, e.g. late fusion) it is the accuracy of modality ``m`` alone inside
the jointly trained model; with *mixed* heads other modalities have leaked in.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from spcl_diag.metrics._docs import fill_doc
from spcl_diag.metrics.classification import accuracy, cross_entropy, macro_f1, weighted_f1

Score = Literal["acc", "wf1"]
SpreadKind = Literal["range", "std"]


def check_probs(probs: Mapping[str, NDArray], labels: NDArray) -> None:
    """Validate ``probs`` (modality -> ``[N, C]``) against ``labels`` ``[N]``; raise ``ValueError``."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D array of classes; got shape {labels.shape}.")
    problems = []
    for m, p in probs.items():
        shape = np.shape(p)
        if len(shape) != 2 or shape[0] != len(labels):
            problems.append(f"probs[{m!r}] has shape {shape}, expected ({len(labels)}, C)")
        elif len(labels) and labels.max() >= shape[1]:
            problems.append(f"probs[{m!r}] has {shape[1]} classes but labels reach {int(labels.max())}")
    if problems:
        raise ValueError("; ".join(problems) + ".")


@fill_doc
def unimodal_accuracy(probs: Mapping[str, NDArray], labels: NDArray) -> dict[str, float]:
    r"""Accuracy of each modality's head.

    .. math:: \mathrm{acc}_m = \frac1N \sum_i [\arg\max_c p_m(c \mid x_i) = y_i]

    Parameters
    ----------
    %(probs)s
    %(labels)s

    Examples
    --------
    >>> p = {"t": np.array([[0.9, 0.1], [0.2, 0.8]]), "a": np.array([[0.6, 0.4], [0.7, 0.3]])}
    >>> unimodal_accuracy(p, np.array([0, 1]))
    {'t': 1.0, 'a': 0.5}
    """
    check_probs(probs, labels)
    return {m: accuracy(labels, np.asarray(p).argmax(1)) for m, p in probs.items()}


@fill_doc
def unimodal_wf1(probs: Mapping[str, NDArray], labels: NDArray) -> dict[str, float]:
    r"""Support-weighted F1 of each modality's head (sklearn's ``average="weighted"``).

    .. math:: \mathrm{wF1}_m = \sum_c \frac{n_c}{N}\,\frac{2\,TP_{m,c}}{2\,TP_{m,c} + FP_{m,c} + FN_{m,c}}

    Parameters
    ----------
    %(probs)s
    %(labels)s

    Examples
    --------
    >>> p = {"t": np.array([[0.9, 0.1], [0.2, 0.8]]), "a": np.array([[0.6, 0.4], [0.7, 0.3]])}
    >>> {m: round(f, 3) for m, f in unimodal_wf1(p, np.array([0, 1])).items()}
    {'t': 1.0, 'a': 0.333}
    """
    check_probs(probs, labels)
    return {
        m: weighted_f1(labels, np.asarray(p).argmax(1), n_classes=np.shape(p)[1]) for m, p in probs.items()
    }


@fill_doc
def unimodal_macro_f1(probs: Mapping[str, NDArray], labels: NDArray) -> dict[str, float]:
    r"""Macro F1 of each modality's head (sklearn's ``average="macro"``): every class weighs the same.

    .. math:: \mathrm{mF1}_m = \frac{1}{|K|} \sum_{c \in K} \frac{2\,TP_{m,c}}{2\,TP_{m,c} + FP_{m,c} + FN_{m,c}}

    over the classes :math:`K` with a gold or a predicted utterance
    (:func:`~spcl_diag.metrics.classification.macro_f1`).

    Parameters
    ----------
    %(probs)s
    %(labels)s

    Examples
    --------
    >>> p = {"t": np.array([[0.9, 0.1], [0.2, 0.8]]), "a": np.array([[0.6, 0.4], [0.7, 0.3]])}
    >>> {m: round(f, 3) for m, f in unimodal_macro_f1(p, np.array([0, 1])).items()}
    {'t': 1.0, 'a': 0.333}
    """
    check_probs(probs, labels)
    return {m: macro_f1(labels, np.asarray(p).argmax(1), n_classes=np.shape(p)[1]) for m, p in probs.items()}


def spread(values: Mapping[str, float], *, kind: SpreadKind = "range") -> float:
    r"""Spread of per-modality scores: the range or the population standard deviation.

    .. math:: \mathrm{range} = \max_m v_m - \min_m v_m, \qquad
              \mathrm{std} = \Big(\frac1M \sum_m (v_m - \bar v)^2\Big)^{1/2}

    Zero means the modalities score alike. With fewer than two modalities the spread is
    undefined: NaN with a ``RuntimeWarning``.

    Parameters
    ----------
    values
        Modality -> score.
    kind
        ``"range"`` (max - min) or ``"std"`` (``ddof=0``).

    Examples
    --------
    >>> round(spread({"t": 0.6, "a": 0.4, "v": 0.2}), 3), round(spread({"t": 0.6, "a": 0.2}, kind="std"), 3)
    (0.4, 0.2)
    """
    if kind not in ("range", "std"):
        raise ValueError(f"kind must be 'range' or 'std'; got {kind!r}.")
    if len(values) < 2:
        warnings.warn("a spread needs at least two modalities; returning NaN.", RuntimeWarning, stacklevel=2)
        return float("nan")
    v = np.array(list(values.values()), dtype=np.float64)
    return float(v.max() - v.min()) if kind == "range" else float(v.std())


@fill_doc
def unimodal_spread(
    probs: Mapping[str, NDArray], labels: NDArray, *, score: Score = "wf1", kind: SpreadKind = "range"
) -> float:
    """Spread (:func:`spread`) of the per-modality accuracy or weighted F1.

    Parameters
    ----------
    %(probs)s
    %(labels)s
    score
        ``"acc"`` (:func:`unimodal_accuracy`) or ``"wf1"`` (:func:`unimodal_wf1`).
    kind
        ``"range"`` or ``"std"``.

    Examples
    --------
    >>> p = {"t": np.array([[0.9, 0.1], [0.2, 0.8]]), "a": np.array([[0.6, 0.4], [0.7, 0.3]])}
    >>> unimodal_spread(p, np.array([0, 1]), score="acc")
    0.5
    """
    if score not in ("acc", "wf1"):
        raise ValueError(f"score must be 'acc' or 'wf1'; got {score!r}.")
    scores = unimodal_accuracy(probs, labels) if score == "acc" else unimodal_wf1(probs, labels)
    return spread(scores, kind=kind)


@fill_doc
def unimodal_loss_disparity(probs: Mapping[str, NDArray], labels: NDArray) -> dict[str, float]:
    r"""Mean cross-entropy of each modality's head minus that of the best-fitted modality.

    .. math:: \Delta_m = L_m - \min_k L_k, \qquad
              L_m = -\frac1N \sum_i \log p_m(y_i \mid x_i)

    in nats (probabilities clipped at 1e-12). The best-fitted modality has
    :math:`\Delta = 0`; a large :math:`\Delta_m` marks a modality the model under-fits.
    Wang et al. [1]_ monitor the unimodal losses to show that modalities fit at different
    speeds; the difference to the best modality is this package's summary of them. With one
    modality the disparity is uninformative: NaN with a ``RuntimeWarning``.

    Parameters
    ----------
    %(probs)s
    %(labels)s

    References
    ----------
    .. [1] Wang, Tran and Feiszli, "What Makes Training Multi-Modal Classification Networks
       Hard?", CVPR 2020.

    Examples
    --------
    >>> p = {"t": np.array([[0.9, 0.1], [0.2, 0.8]]), "a": np.array([[0.5, 0.5], [0.5, 0.5]])}
    >>> {m: round(d, 3) for m, d in unimodal_loss_disparity(p, np.array([0, 1])).items()}
    {'t': 0.0, 'a': 0.529}
    """
    check_probs(probs, labels)
    if len(probs) < 2:
        warnings.warn("loss disparity needs at least two modalities; returning NaN.", RuntimeWarning, stacklevel=2)
        return {m: float("nan") for m in probs}
    losses = {m: cross_entropy(p, labels) for m, p in probs.items()}
    best = min(losses.values())
    return {m: loss - best for m, loss in losses.items()}
