"""Bootstrap confidence intervals: percentile and BCa, plain, grouped and stratified.

``bootstrap_ci`` resamples one sample (seeds, or utterances grouped by dialogue with
``groups=``); ``stratified_bootstrap_ci`` resamples runs within each task independently and
aggregates across tasks with the mean, the median or the interquartile mean (IQM), as
recommended by Agarwal et al. (2021) for a few runs on many tasks.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special
from scipy import stats as sps

from spcl_diag.stats._common import (
    as_vector,
    check_confidence_level,
    check_positive_int,
    check_rng,
    degenerate,
    fill_doc,
)
from spcl_diag.stats.intervals import Interval
from spcl_diag.stats.streams import keyed_streams

BootstrapMethod = Literal["percentile", "bca"]
Statistic = Literal["mean", "median", "iqm"] | Callable[..., float]
Aggregate = Literal["mean", "median", "iqm"]


@fill_doc
def interquartile_mean(x: ArrayLike, *, axis: int | None = -1) -> NDArray[np.float64] | float:
    r"""Mean of the middle half of the values (25 % trimmed mean on each side).

    Parameters
    ----------
    x
        Scores; ``axis=None`` pools all of them.
    axis
        Axis to reduce.

    Notes
    -----
    .. math:: \mathrm{IQM}(x) = \frac{1}{n - 2k} \sum_{i=k+1}^{n-k} x_{(i)}, \quad k = \lfloor n/4 \rfloor

    (``scipy.stats.trim_mean(x, 0.25)``). It is robust to outlying runs like the median but
    uses half of the data, so it is less noisy.

    References
    ----------
    .. [1] Agarwal et al. (2021), Deep reinforcement learning at the edge of the statistical
       precipice. NeurIPS.

    Examples
    --------
    >>> float(interquartile_mean([1.0, 2.0, 3.0, 4.0, 100.0, -50.0, 2.5, 3.5]))
    2.75
    """
    return sps.trim_mean(np.asarray(x, dtype=np.float64), 0.25, axis=axis)


def _vectorised(statistic: Statistic) -> Callable[[NDArray], NDArray]:
    """A function of ``[..., n]`` resamples that reduces the last axis."""
    if statistic == "mean":
        return lambda v: np.mean(v, axis=-1)
    if statistic == "median":
        return lambda v: np.median(v, axis=-1)
    if statistic == "iqm":
        return lambda v: np.asarray(interquartile_mean(v, axis=-1), dtype=np.float64)
    if not callable(statistic):
        raise TypeError(f"statistic must be 'mean', 'median', 'iqm' or a callable; got {statistic!r}.")
    try:
        takes_axis = "axis" in inspect.signature(statistic).parameters
    except (TypeError, ValueError):  # some numpy functions hide their signature
        takes_axis = False
    if takes_axis:
        return lambda v: np.asarray(statistic(v, axis=-1), dtype=np.float64)
    return lambda v: np.apply_along_axis(statistic, -1, v).astype(np.float64)


class GroupIndex:
    """Rows of each group, to resample whole groups (dialogues) at once."""

    def __init__(self, groups: ArrayLike) -> None:
        _, self.codes = np.unique(np.asarray(groups), return_inverse=True)
        self.order = np.argsort(self.codes, kind="stable")
        self.sizes = np.bincount(self.codes)
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        self.n_groups = len(self.sizes)

    def rows(self, chosen: NDArray[np.int64]) -> NDArray[np.int64]:
        """Row indices of the groups ``chosen`` (with repeats), concatenated in that order."""
        lengths = self.sizes[chosen]
        ends = np.cumsum(lengths)
        within = np.arange(ends[-1]) - np.repeat(ends - lengths, lengths)
        return self.order[np.repeat(self.starts[chosen], lengths) + within]

    def without(self, group: int) -> NDArray[np.int64]:
        """Row indices of every group but ``group`` (for the jackknife)."""
        return np.flatnonzero(self.codes != group)


def interval_from_distribution(
    estimate: float,
    replicates: NDArray[np.float64],
    jackknife: NDArray[np.float64] | None,
    *,
    confidence_level: float,
    method: BootstrapMethod,
    n: int,
) -> Interval:
    r"""Percentile or BCa interval from bootstrap ``replicates`` (and jackknife values for BCa).

    BCa (Efron & Tibshirani 1993, eqs. 14.9-14.15): with
    :math:`\hat z_0 = \Phi^{-1}(\#\{\theta^*_b < \hat\theta\} + \tfrac12\#\{\theta^*_b = \hat\theta\}) / B)`
    and :math:`\hat a = \sum_i (\bar\theta_{(\cdot)} - \theta_{(i)})^3 /
    \{6 [\sum_i (\bar\theta_{(\cdot)} - \theta_{(i)})^2]^{3/2}\}`, the bounds are the
    :math:`\alpha_{1,2} = \Phi(\hat z_0 + (\hat z_0 + z_{\alpha/2, 1-\alpha/2}) /
    (1 - \hat a(\hat z_0 + z_{\cdot})))` quantiles of the replicates (linear interpolation).
    Ties count half in :math:`\hat z_0`, as in ``scipy.stats.bootstrap``.
    """
    alpha = 1.0 - confidence_level
    label = f"bootstrap-{method}"
    if not np.all(np.isfinite(replicates)):
        nan = degenerate(f"{label}: the statistic is not finite on some resamples.")
        return Interval(estimate, nan, nan, label, confidence_level, n)
    levels = np.array([alpha / 2, 1 - alpha / 2])
    if method == "bca":
        assert jackknife is not None
        share = (np.count_nonzero(replicates < estimate) + np.count_nonzero(replicates <= estimate)) / (2 * replicates.size)
        z0 = special.ndtri(share)
        deviation = jackknife.mean() - jackknife
        spread = np.sum(deviation**2)
        if not np.isfinite(z0) or spread == 0:
            nan = degenerate(
                f"{label}: the interval is undefined (all resamples on one side of the estimate, "
                "or a constant jackknife); use method='percentile' or more data."
            )
            return Interval(estimate, nan, nan, label, confidence_level, n)
        acceleration = np.sum(deviation**3) / (6 * spread**1.5)
        z = special.ndtri(levels)
        levels = special.ndtr(z0 + (z0 + z) / (1 - acceleration * (z0 + z)))
    low, high = np.quantile(replicates, levels)
    return Interval(float(estimate), float(low), float(high), label, confidence_level, n)


@fill_doc
def bootstrap_ci(
    x: ArrayLike,
    statistic: Statistic = "mean",
    *,
    rng: np.random.Generator,
    groups: ArrayLike | None = None,
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    method: BootstrapMethod = "bca",
) -> Interval:
    r"""Bootstrap confidence interval of ``statistic(x)``: percentile or BCa.

    Parameters
    ----------
    x
        ``[n]`` scores: one per seed, or one per utterance with ``groups``.
    statistic
        ``"mean"``, ``"median"``, ``"iqm"`` or a callable of a 1-D array (one taking
        ``axis=`` is called once on all resamples).
    %(rng)s
    groups
        ``[n]`` group of each score (dialogue ids). Whole groups are resampled with
        replacement and the jackknife leaves out one group at a time.
    %(n_resamples)s
    %(confidence_level)s
    method
        ``"percentile"`` or ``"bca"`` (bias-corrected and accelerated).

    Returns
    -------
    Interval
        ``method`` is ``"bootstrap-percentile"`` or ``"bootstrap-bca"``; ``n`` counts the
        resampled units (values, or groups).

    Notes
    -----
    Resample :math:`b` draws :math:`n` indices uniformly with replacement
    (``rng.integers(0, n, (n_resamples, n))``, the same draws as ``scipy.stats.bootstrap``,
    so both agree given the same generator state) and computes :math:`\theta^*_b`.
    The percentile interval is :math:`[\theta^*_{(\alpha/2)}, \theta^*_{(1-\alpha/2)}]`;
    BCa shifts these levels by the bias :math:`\hat z_0` and the jackknife acceleration
    :math:`\hat a` (see :func:`interval_from_distribution`). With 3-5 seeds both
    under-cover; prefer :func:`~spcl_diag.stats.intervals.t_interval` there.
    %(degenerate)s

    References
    ----------
    .. [1] Efron, B. & Tibshirani, R. (1993), An Introduction to the Bootstrap, ch. 13-14.
    .. [2] Field, C. & Welsh, A. (2007), Bootstrapping clustered data. JRSS-B 69(3).

    Examples
    --------
    >>> res = bootstrap_ci([0.61, 0.63, 0.62, 0.60, 0.64, 0.59], rng=np.random.default_rng(0),
    ...                    n_resamples=2000, method="percentile")
    >>> res.method, res.low < res.estimate < res.high
    ('bootstrap-percentile', True)
    """
    check_rng(rng)
    check_confidence_level(confidence_level)
    check_positive_int(n_resamples, "n_resamples")
    if method not in ("percentile", "bca"):
        raise ValueError(f"method must be 'percentile' or 'bca'; got {method!r}.")
    values = as_vector(x, "x", min_size=1)
    reduce = _vectorised(statistic)
    estimate = float(reduce(values))
    if groups is None:
        n = values.size
        replicates = reduce(values[rng.integers(0, n, (n_resamples, n))])
        jackknife = None
        if method == "bca":
            leave_out = ~np.eye(n, dtype=bool)
            jackknife = reduce(np.broadcast_to(values, (n, n))[leave_out].reshape(n, n - 1)) if n > 1 else np.zeros(1)
        return interval_from_distribution(
            estimate, np.asarray(replicates, dtype=np.float64), jackknife, confidence_level=confidence_level, method=method, n=n
        )
    group_array = np.asarray(groups)
    if group_array.shape != values.shape:
        raise ValueError(f"groups must have one entry per value; got {group_array.shape} for x of shape {values.shape}.")
    index = GroupIndex(group_array)
    chosen = rng.integers(0, index.n_groups, (n_resamples, index.n_groups))
    replicates = np.array([float(reduce(values[index.rows(row)])) for row in chosen])
    jackknife = None
    if method == "bca":
        jackknife = np.array([float(reduce(values[index.without(g)])) for g in range(index.n_groups)])
    return interval_from_distribution(
        estimate, replicates, jackknife, confidence_level=confidence_level, method=method, n=index.n_groups
    )


def _aggregate(per_task: list[NDArray[np.float64]], aggregate: Aggregate) -> NDArray[np.float64]:
    """Aggregate ``[..., n_t]`` score arrays of each task (see :func:`stratified_bootstrap_ci`)."""
    if aggregate == "iqm":
        return np.asarray(interquartile_mean(np.concatenate(per_task, axis=-1), axis=-1))
    task_means = np.stack([s.mean(axis=-1) for s in per_task], axis=-1)
    return task_means.mean(axis=-1) if aggregate == "mean" else np.median(task_means, axis=-1)


@fill_doc
def stratified_bootstrap_ci(
    scores: Mapping[str, ArrayLike] | ArrayLike,
    *,
    aggregate: Aggregate = "iqm",
    rng: np.random.Generator,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    method: BootstrapMethod = "percentile",
) -> Interval:
    r"""Interval of an aggregate score across tasks, resampling runs within each task.

    Parameters
    ----------
    scores
        Task name -> ``[n_t]`` run scores (seeds), or an array ``[n_runs, n_tasks]``.
        Tasks are e.g. (dataset, backbone, modalities) cells; normalise scores first if
        their scales differ.
    aggregate
        ``"mean"``: mean over tasks of the per-task mean; ``"median"``: median over tasks
        of the per-task mean; ``"iqm"``: interquartile mean of all run scores pooled.
    %(rng)s
    %(n_resamples)s
    %(confidence_level)s
    method
        ``"percentile"`` (as in [1]_) or ``"bca"`` (jackknife over all runs).

    Returns
    -------
    Interval
        ``n`` is the total number of runs.

    Notes
    -----
    Stratified bootstrap: for every task :math:`t` independently, draw :math:`n_t` of its
    runs with replacement, from a stream derived from ``rng`` and the task's name (its column
    for an array; :func:`~spcl_diag.stats.streams.keyed_streams`), so the order of the tasks
    does not change the interval; compute the aggregate :math:`\theta^*_b` of the resampled score
    table; repeat :math:`B` times. Tasks are never resampled, so the interval reflects
    run-to-run (seed) variability only.

    .. math:: \mathrm{mean} = \frac1T\sum_t \bar x_t,\quad
              \mathrm{median} = \operatorname{med}_t \bar x_t,\quad
              \mathrm{IQM} = \mathrm{IQM}(\{x_{t,i}\}_{t,i})

    References
    ----------
    .. [1] Agarwal et al. (2021), Deep reinforcement learning at the edge of the statistical
       precipice. NeurIPS.

    Examples
    --------
    >>> scores = {"iemocap": [0.61, 0.63, 0.62], "meld": [0.58, 0.57, 0.59]}
    >>> res = stratified_bootstrap_ci(scores, aggregate="mean", rng=np.random.default_rng(0))
    >>> round(res.estimate, 3), res.low <= res.estimate <= res.high
    (0.6, True)
    """
    check_rng(rng)
    check_confidence_level(confidence_level)
    check_positive_int(n_resamples, "n_resamples")
    if aggregate not in ("mean", "median", "iqm"):
        raise ValueError(f"aggregate must be 'mean', 'median' or 'iqm'; got {aggregate!r}.")
    if method not in ("percentile", "bca"):
        raise ValueError(f"method must be 'percentile' or 'bca'; got {method!r}.")
    if isinstance(scores, Mapping):
        keys: list[object] = list(scores)
        tasks = [as_vector(v, f"scores[{k!r}]", min_size=1) for k, v in scores.items()]
    else:
        table = np.asarray(scores, dtype=np.float64)
        if table.ndim != 2:
            raise ValueError(f"scores must be a mapping or a [n_runs, n_tasks] array; got shape {table.shape}.")
        keys = list(range(table.shape[1]))
        tasks = [as_vector(table[:, t], f"scores[:, {t}]", min_size=1) for t in range(table.shape[1])]
    if not tasks:
        raise ValueError("scores holds no task.")
    estimate = float(_aggregate(tasks, aggregate))
    streams = keyed_streams(rng, keys)
    resampled = [s[g.integers(0, s.size, (n_resamples, s.size))] for s, g in zip(tasks, streams)]
    replicates = _aggregate(resampled, aggregate)
    jackknife = None
    n_runs = sum(s.size for s in tasks)
    if method == "bca":
        jackknife = np.array(
            [
                float(_aggregate([np.delete(s, i) if t == k else s for k, s in enumerate(tasks)], aggregate))
                for t, task in enumerate(tasks)
                for i in range(task.size)
                if task.size > 1
            ]
        )
    return interval_from_distribution(
        estimate, replicates, jackknife, confidence_level=confidence_level, method=method, n=n_runs
    )


__all__ = ["GroupIndex", "bootstrap_ci", "interquartile_mean", "interval_from_distribution", "stratified_bootstrap_ci"]
