r"""Per-class modality diagnostics: which modality tells each class apart, which classes the curriculum held back.

Two tidy tables, pure functions over arrays:

* :func:`per_class_contribution`: for every class :math:`c` and modality :math:`m`, the
  Shapley contribution of :math:`m` to the class's accuracy (recall) in the game of
  masked-modality evaluation, and the accuracy of :math:`m`'s own head on the class;
* :func:`kept_by_class`: the fraction of each class's training utterances the curriculum
  kept in the loss, per epoch (``difficulty.npz``'s ``label`` and ``v``).

A collapsing minority class with a low kept fraction is one the curriculum held back; one
whose Shapley mass sits on a weak modality is one only that modality can tell apart.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from spcl_diag.metrics.contribution import shapley_values

CONTRIBUTION_COLUMNS: tuple[str, ...] = ("class", "class_name", "n", "modality", "metric", "value")
KEPT_COLUMNS: tuple[str, ...] = ("epoch", "class", "class_name", "n", "kept_fraction")


def _predicted(values: NDArray, name: str, n: int) -> NDArray[np.int64]:
    """Class predictions from ``[n]`` labels or ``[n, C]`` probabilities/logits."""
    array = np.asarray(values)
    if array.ndim == 2:
        array = array.argmax(axis=1)
    if array.shape != (n,):
        raise ValueError(f"{name}: expected {n} predictions or an [{n}, C] probability array; got shape {np.shape(values)}.")
    return array.astype(np.int64)


def _class_names(n_classes: int, class_names: Sequence[str] | None) -> list[str]:
    if class_names is None:
        return [str(c) for c in range(n_classes)]
    if len(class_names) < n_classes:
        raise ValueError(f"class_names has {len(class_names)} names but the labels reach class {n_classes - 1}.")
    return [str(c) for c in class_names]


def _recall(labels: NDArray[np.int64], predictions: NDArray[np.int64], n_classes: int) -> NDArray[np.float64]:
    """Accuracy within each class, ``nan`` for a class without utterances."""
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    hits = np.bincount(labels[predictions == labels], minlength=n_classes).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)


def per_class_contribution(
    labels: NDArray,
    subset_predictions: Mapping[str, NDArray],
    *,
    unimodal_predictions: Mapping[str, NDArray] | None = None,
    class_names: Sequence[str] | None = None,
    n_classes: int | None = None,
) -> pd.DataFrame:
    r"""Shapley contribution of each modality to each class's accuracy, and unimodal accuracy per class.

    For class :math:`c`, the game is :math:`v_c(S)` = the fraction of class-:math:`c`
    utterances that the model predicts correctly when only the modalities in :math:`S` are
    intact (the others masked), and

    .. math:: \phi_m(c) = \sum_{S \subseteq N \setminus \{m\}}
              \frac{|S|!\,(M-|S|-1)!}{M!}\big(v_c(S \cup \{m\}) - v_c(S)\big),

    (:func:`~spcl_diag.metrics.contribution.shapley_values`), so
    :math:`\sum_m \phi_m(c) = v_c(N) - v_c(\emptyset)`. The unimodal accuracy of :math:`m`
    on :math:`c` is the class-:math:`c` recall of :math:`m`'s own head.

    Parameters
    ----------
    labels
        ``[n]`` gold classes.
    subset_predictions
        Kept-modality subset (``"tav"``, ..., ``""`` for all masked) -> ``[n]`` predicted
        classes or ``[n, C]`` joint probabilities, for all :math:`2^M` subsets.
    unimodal_predictions
        Modality -> ``[n]`` predictions or ``[n, C]`` probabilities of its own head.
    class_names
        Names of the classes by index (default: the index as text).
    n_classes
        Number of classes (default: ``labels.max() + 1``).

    Returns
    -------
    pandas.DataFrame
        Tidy rows ``class, class_name, n, modality, metric, value`` with ``metric`` in
        ``shapley_acc`` and ``unimodal_acc``. A class without utterances gets ``nan`` and a
        ``RuntimeWarning``.

    References
    ----------
    .. [1] Shapley (1953); Hu, Li and Zhou, SHAPE, IJCAI 2022 (modality Shapley values).

    Examples
    --------
    >>> y = np.array([0, 0, 1, 1])
    >>> preds = {"": [0, 0, 0, 0], "t": [0, 0, 1, 1], "a": [0, 0, 0, 1], "ta": [0, 0, 1, 1]}
    >>> table = per_class_contribution(y, preds)
    >>> table.query("metric == 'shapley_acc' and `class` == 1")[["modality", "value"]].values.tolist()
    [['t', 0.75], ['a', 0.25]]
    """
    y = np.asarray(labels).astype(np.int64)
    if y.ndim != 1 or y.size == 0 or (y < 0).any():
        raise ValueError(f"labels must be a non-empty 1-D array of class indices >= 0; got shape {y.shape}.")
    k = int(n_classes) if n_classes is not None else int(y.max()) + 1
    names = _class_names(k, class_names)
    recall = {s: _recall(y, _predicted(p, f"subset_predictions[{s!r}]", y.size), k) for s, p in subset_predictions.items()}
    counts = np.bincount(y, minlength=k)
    if (counts == 0).any():
        warnings.warn(f"classes {np.flatnonzero(counts == 0).tolist()} have no utterances: their rows are nan.",
                      RuntimeWarning, stacklevel=2)
    rows = []
    for c in range(k):
        if counts[c]:
            phi = shapley_values({s: float(r[c]) for s, r in recall.items()})
        else:
            phi = shapley_values({s: 0.0 for s in recall})
            phi = dict.fromkeys(phi, float("nan"))
        rows += [(c, names[c], int(counts[c]), m, "shapley_acc", float(v)) for m, v in phi.items()]
        for m, p in (unimodal_predictions or {}).items():
            r = _recall(y, _predicted(p, f"unimodal_predictions[{m!r}]", y.size), k)
            rows.append((c, names[c], int(counts[c]), m, "unimodal_acc", float(r[c])))
    return pd.DataFrame(rows, columns=list(CONTRIBUTION_COLUMNS))


def kept_by_class(
    labels: NDArray, keep: NDArray, *, class_names: Sequence[str] | None = None, n_classes: int | None = None
) -> pd.DataFrame:
    r"""Fraction of each class's training utterances kept in the loss, per epoch.

    .. math:: k_c(e) = \frac{1}{|U_c|}\sum_{j \in U_c} v_{je}

    with :math:`v_{je} \in \{0, 1\}` the keep flag of utterance :math:`j` at epoch :math:`e`
    (``difficulty.npz``'s ``v``, utterances as rows) and :math:`U_c` the utterances of
    class :math:`c`.

    Parameters
    ----------
    labels
        ``[U]`` classes of the training utterances.
    keep
        ``[U, E]`` keep flags (bool or 0/1).
    class_names, n_classes
        As in :func:`per_class_contribution`.

    Returns
    -------
    pandas.DataFrame
        Tidy rows ``epoch, class, class_name, n, kept_fraction`` (``nan`` for an absent class).

    Examples
    --------
    >>> v = np.array([[0, 1], [1, 1], [0, 0], [0, 1]], dtype=bool)
    >>> kept_by_class(np.array([0, 0, 1, 1]), v)["kept_fraction"].tolist()
    [0.5, 0.0, 1.0, 0.5]
    """
    y = np.asarray(labels).astype(np.int64)
    v = np.asarray(keep)
    if v.ndim != 2 or v.shape[0] != y.size:
        raise ValueError(f"keep must be [utterances, epochs] with {y.size} rows (one per label); got shape {v.shape}.")
    k = int(n_classes) if n_classes is not None else int(y.max()) + 1
    names = _class_names(k, class_names)
    counts = np.bincount(y, minlength=k)
    kept = np.stack([np.bincount(y, weights=v[:, e].astype(float), minlength=k) for e in range(v.shape[1])])  # [E, C]
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(counts > 0, kept / np.maximum(counts, 1), np.nan)
    rows = [(e, c, names[c], int(counts[c]), float(fraction[e, c])) for e in range(v.shape[1]) for c in range(k)]
    return pd.DataFrame(rows, columns=list(KEPT_COLUMNS))


__all__ = ["CONTRIBUTION_COLUMNS", "KEPT_COLUMNS", "kept_by_class", "per_class_contribution"]
