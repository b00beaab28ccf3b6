r"""Probability of improvement averaged over tasks, with a stratified bootstrap interval.

The aggregate of Agarwal et al. (2021) for many (dataset, backbone, modality set) cells:

.. math:: \overline{P}(A > B) = \frac1T \sum_{t=1}^{T} P(A_t > B_t)

with :math:`P(A_t > B_t)` the Mann-Whitney probability of
:func:`~spcl_diag.stats.effect_sizes.probability_of_improvement` on task :math:`t`. The
interval resamples, for every task and every arm independently, that arm's runs with
replacement (tasks are never resampled), each task from a stream derived from the generator
and the task's name (:func:`~spcl_diag.stats.streams.keyed_streams`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from spcl_diag.stats._common import as_vector, check_confidence_level, check_positive_int, check_rng
from spcl_diag.stats.effect_sizes import probability_of_improvement
from spcl_diag.stats.intervals import Interval
from spcl_diag.stats.streams import keyed_streams


def average_probability_of_improvement(
    a: Mapping[str, ArrayLike],
    b: Mapping[str, ArrayLike],
    *,
    rng: np.random.Generator,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
) -> Interval:
    """Mean over tasks of P(a run of A beats a run of B), with a stratified percentile interval.

    Parameters
    ----------
    a, b
        Task -> ``[n]`` scores (higher is better) of arm A and arm B; the same tasks.
    rng
        Source of the resamples.
    n_resamples
        Bootstrap resamples.
    confidence_level
        Of the interval.

    Returns
    -------
    Interval
        ``method`` is ``"stratified-bootstrap-percentile"``; ``n`` the number of runs of both arms.

    References
    ----------
    .. [1] Agarwal et al. (2021), Deep reinforcement learning at the edge of the
       statistical precipice. NeurIPS.

    Examples
    --------
    >>> res = average_probability_of_improvement({"x": [3.0, 4.0], "y": [1.0, 2.0]}, {"x": [1.0, 3.0], "y": [2.0, 2.0]},
    ...                                          rng=np.random.default_rng(0), n_resamples=200)
    >>> res.estimate, res.low <= res.estimate <= res.high
    (0.5625, True)
    """
    check_rng(rng)
    check_confidence_level(confidence_level)
    check_positive_int(n_resamples, "n_resamples")
    if set(a) != set(b) or not a:
        raise ValueError(f"a and b must name the same, non-empty tasks; got {sorted(a)} and {sorted(b)}.")
    tasks = sorted(a)
    estimates, replicates, n = [], np.zeros(n_resamples), 0
    for task, stream in zip(tasks, keyed_streams(rng, tasks)):
        x, y = as_vector(a[task], f"a[{task!r}]", min_size=1), as_vector(b[task], f"b[{task!r}]", min_size=1)
        estimates.append(probability_of_improvement(x, y))
        xs = x[stream.integers(0, x.size, (n_resamples, x.size))]
        ys = y[stream.integers(0, y.size, (n_resamples, y.size))]
        replicates += np.sign(xs[:, :, None] - ys[:, None, :]).mean(axis=(1, 2)) / 2 + 0.5
        n += x.size + y.size
    replicates /= len(tasks)
    alpha = 1 - confidence_level
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    return Interval(float(np.mean(estimates)), float(low), float(high), "stratified-bootstrap-percentile",
                    confidence_level, n)


__all__ = ["average_probability_of_improvement"]
