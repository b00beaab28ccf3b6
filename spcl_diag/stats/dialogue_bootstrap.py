"""Dialogue-level paired bootstrap of a per-utterance metric between two runs.

Two runs evaluated on the same test set are compared on one corpus-level metric (weighted
F1 by default). Utterances of one dialogue are not independent, so whole dialogues are
resampled, and both runs are scored on the same resampled dialogues (paired).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spcl_diag.metrics.classification import weighted_f1
from spcl_diag.stats._common import check_confidence_level, check_positive_int, check_rng, fill_doc
from spcl_diag.stats.bootstrap import BootstrapMethod, GroupIndex, interval_from_distribution
from spcl_diag.stats.intervals import Interval

Metric = Callable[[NDArray, NDArray], float]


def _as_predictions(values: ArrayLike, name: str, n: int) -> NDArray[np.int64]:
    array = np.asarray(values)
    if array.ndim == 2:  # [N, C] probabilities
        array = array.argmax(axis=1)
    if array.shape != (n,):
        raise ValueError(f"{name} must hold one class (or one probability row) per utterance: expected {n}, got shape {np.shape(values)}.")
    return array.astype(np.int64)


@fill_doc
def paired_dialogue_bootstrap(
    labels: ArrayLike,
    predictions_a: ArrayLike,
    predictions_b: ArrayLike,
    *,
    groups: ArrayLike,
    rng: np.random.Generator,
    metric: Metric = weighted_f1,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    method: BootstrapMethod = "percentile",
) -> Interval:
    r"""Interval of ``metric(A) - metric(B)`` on one test set, resampling dialogues.

    Parameters
    ----------
    labels
        ``[N]`` gold classes of the test utterances.
    predictions_a, predictions_b
        ``[N]`` predicted classes of runs A and B, or ``[N, C]`` probabilities (argmax).
    groups
        ``[N]`` dialogue of each utterance (``test_dialogue_id`` in ``predictions.npz``).
    %(rng)s
    metric
        ``metric(labels, predictions) -> float`` over utterances; default
        :func:`spcl_diag.metrics.classification.weighted_f1`.
    %(n_resamples)s
    %(confidence_level)s
    method
        ``"percentile"`` or ``"bca"`` (jackknife leaves out one dialogue).

    Returns
    -------
    Interval
        ``estimate`` is :math:`M(A) - M(B)` on the full test set; ``n`` is the number of
        dialogues.

    Notes
    -----
    Let :math:`D` be the :math:`G` test dialogues. Resample :math:`b` draws
    :math:`D^*_b` = :math:`G` dialogues with replacement (``rng.integers(0, G, (B, G))``
    over the sorted unique dialogue ids), pools their utterances in draw order and computes

    .. math:: \Delta^*_b = M(y_{D^*_b}, \hat y^A_{D^*_b}) - M(y_{D^*_b}, \hat y^B_{D^*_b}).

    The percentile or BCa interval of :math:`\{\Delta^*_b\}` follows
    (:func:`~spcl_diag.stats.bootstrap.interval_from_distribution`). This measures test-set
    sampling noise for *these two trained models*; seed-to-seed variability needs the
    seed-level tests in :mod:`spcl_diag.stats.paired_tests`.

    References
    ----------
    .. [1] Koehn, P. (2004), Statistical significance tests for machine translation
       evaluation. EMNLP.
    .. [2] Field, C. & Welsh, A. (2007), Bootstrapping clustered data. JRSS-B 69(3).

    Examples
    --------
    >>> labels = np.array([0, 1, 1, 0, 2, 2, 1, 0])
    >>> a = np.array([0, 1, 1, 0, 2, 1, 1, 0])
    >>> b = np.array([0, 0, 1, 1, 2, 1, 1, 2])
    >>> res = paired_dialogue_bootstrap(labels, a, b, groups=[0, 0, 1, 1, 2, 2, 3, 3],
    ...                                 rng=np.random.default_rng(0), n_resamples=500)
    >>> round(res.estimate, 3), res.n, res.low <= res.estimate <= res.high
    (0.374, 4, True)
    """
    check_rng(rng)
    check_confidence_level(confidence_level)
    check_positive_int(n_resamples, "n_resamples")
    if method not in ("percentile", "bca"):
        raise ValueError(f"method must be 'percentile' or 'bca'; got {method!r}.")
    y = np.asarray(labels).astype(np.int64)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array; got shape {y.shape}.")
    pred_a = _as_predictions(predictions_a, "predictions_a", y.size)
    pred_b = _as_predictions(predictions_b, "predictions_b", y.size)
    group_array = np.asarray(groups)
    if group_array.shape != y.shape:
        raise ValueError(f"groups must name the dialogue of each utterance: expected {y.size}, got shape {group_array.shape}.")
    index = GroupIndex(group_array)

    def difference(rows: NDArray[np.int64]) -> float:
        return float(metric(y[rows], pred_a[rows]) - metric(y[rows], pred_b[rows]))

    estimate = difference(np.arange(y.size))
    chosen = rng.integers(0, index.n_groups, (n_resamples, index.n_groups))
    replicates = np.array([difference(index.rows(row)) for row in chosen])
    jackknife = None
    if method == "bca":
        jackknife = np.array([difference(index.without(g)) for g in range(index.n_groups)])
    return interval_from_distribution(
        estimate, replicates, jackknife, confidence_level=confidence_level, method=method, n=index.n_groups
    )


@fill_doc
def dialogue_bootstrap_runs(
    run_a: str | Path,
    run_b: str | Path,
    *,
    rng: np.random.Generator,
    scope: str = "joint",
    split: str = "test",
    metric: Metric = weighted_f1,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    method: BootstrapMethod = "percentile",
) -> Interval:
    """:func:`paired_dialogue_bootstrap` on the saved predictions of two run directories.

    Parameters
    ----------
    run_a, run_b
        Run directories holding ``predictions.npz``, evaluated on the same ``split``.
    %(rng)s
    scope
        ``"joint"`` or a modality (``"t"``, ``"a"``, ``"v"``): which probabilities to use.
    split
        ``"test"`` or ``"dev"``.
    metric
        As in :func:`paired_dialogue_bootstrap`.
    %(n_resamples)s
    %(confidence_level)s
    method
        ``"percentile"`` or ``"bca"``.

    Returns
    -------
    Interval

    Examples
    --------
    ```python
    import numpy as np

    from spcl_diag import RunConfig, run
    from spcl_diag.stats import dialogue_bootstrap_runs

    small = {"train.epochs": 2, "data.synthetic.n_dialogues": 12, "model.hidden_dim": 8}
    spcl = run(RunConfig(curriculum="spcl").with_overrides(small), "runs").path
    none = run(RunConfig(curriculum="none").with_overrides(small), "runs").path
    res = dialogue_bootstrap_runs(spcl, none, rng=np.random.default_rng(0))
    res.method, res.low <= res.estimate <= res.high  # ('bootstrap-percentile', True)
    ```
    """
    from spcl_diag.runs.loading import load_predictions

    pa, pb = load_predictions(run_a), load_predictions(run_b)
    key = f"{split}_probs_{scope}"
    for path, pred in ((run_a, pa), (run_b, pb)):
        if key not in pred:
            raise ValueError(f"{path}/predictions.npz: no {key!r}; found {', '.join(sorted(pred))}.")
    for field in (f"{split}_labels", f"{split}_dialogue_id"):
        if not np.array_equal(pa[field], pb[field]):
            raise ValueError(f"{run_a} and {run_b} were not evaluated on the same {split} set: field {field!r} differs.")
    return paired_dialogue_bootstrap(
        pa[f"{split}_labels"], pa[key], pb[key], groups=pa[f"{split}_dialogue_id"], rng=rng, metric=metric,
        n_resamples=n_resamples, confidence_level=confidence_level, method=method,
    )


__all__ = ["dialogue_bootstrap_runs", "paired_dialogue_bootstrap"]
