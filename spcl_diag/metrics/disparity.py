"""Confidence ratios between modalities: Ada2I disparity ratio (any M) and OGM-GE discrepancy ratio (M = 2)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np  # noqa: F401  (used by the doctests)
from numpy.typing import NDArray

from spcl_diag.metrics._docs import fill_doc
from spcl_diag.metrics.classification import gold_probability
from spcl_diag.metrics.unimodal import check_probs


@fill_doc
def disparity_ratio(probs: Mapping[str, NDArray], labels: NDArray) -> dict[str, float]:
    r"""Gold-class confidence of each modality relative to the weakest one.

    .. math:: \rho_m = s_m / \min_k s_k, \qquad s_m = \sum_i p_m(y_i \mid x_i)

    :math:`\rho_m \ge 1`, and the weakest modality has :math:`\rho = 1`; larger values of the
    strongest modality mean a larger imbalance. With one modality the ratio is 1 by
    definition but carries no information: NaN is returned with a ``RuntimeWarning``.

    Parameters
    ----------
    %(probs)s
    %(labels)s

    References
    ----------
    .. [1] Peng et al., "Balanced Multimodal Learning via On-the-fly Gradient Modulation",
       CVPR 2022 (OGM-GE; two-modality discrepancy ratio).
    .. [2] Nguyen et al., "Ada2I: Enhancing Modality Balance for Multimodal Conversational
       Emotion Recognition", ACM MM 2024 (the ratio to the weakest of M modalities).

    Examples
    --------
    >>> p = {"t": np.array([[0.9, 0.1], [0.2, 0.8]]), "a": np.array([[0.6, 0.4], [0.5, 0.5]])}
    >>> {m: round(r, 3) for m, r in disparity_ratio(p, np.array([0, 1])).items()}
    {'t': 1.545, 'a': 1.0}
    """
    check_probs(probs, labels)
    sums = {m: float(gold_probability(p, labels).sum()) for m, p in probs.items()}
    return ratio_from_sums(sums)


def ratio_from_sums(sums: Mapping[str, float]) -> dict[str, float]:
    """:math:`\\rho_m = s_m / \\min_k s_k` from the summed gold probabilities ``s_m``."""
    if len(sums) < 2:
        warnings.warn("disparity ratio needs at least two modalities; returning NaN.", RuntimeWarning, stacklevel=2)
        return {m: float("nan") for m in sums}
    weakest = min(sums.values())
    if weakest <= 0:
        warnings.warn("a modality has zero gold-class confidence; disparity ratio is NaN.", RuntimeWarning, stacklevel=2)
        return {m: float("nan") for m in sums}
    return {m: s / weakest for m, s in sums.items()}


def discrepancy_ratio(probs: Mapping[str, NDArray], labels: NDArray) -> dict[str, float]:
    r"""OGM-GE discrepancy ratio of two modalities: each one's gold-class confidence over the other's.

    .. math:: \rho_m = s_m / s_{m'}, \qquad s_m = \sum_i p_m(y_i \mid x_i)

    for the two modalities :math:`m \ne m'`, so :math:`\rho_m \rho_{m'} = 1`; OGM-GE slows
    the modality with :math:`\rho > 1` [1]_. Peng et al. sum over a mini-batch; here the sums
    run over the given utterances. Defined for exactly two modalities (use
    :func:`disparity_ratio` for any M): otherwise, or when a sum is zero, NaN with a
    ``RuntimeWarning``.

    Parameters
    ----------
    probs
        Modality -> ``[N, C]`` softmax probabilities of that modality's head (two modalities).
    labels
        ``[N]`` gold classes.

    References
    ----------
    .. [1] Peng et al., "Balanced Multimodal Learning via On-the-fly Gradient Modulation",
       CVPR 2022, Eq. 9.

    Examples
    --------
    >>> p = {"t": np.array([[0.9, 0.1], [0.2, 0.8]]), "a": np.array([[0.6, 0.4], [0.5, 0.5]])}
    >>> {m: round(r, 3) for m, r in discrepancy_ratio(p, np.array([0, 1])).items()}
    {'t': 1.545, 'a': 0.647}
    """
    check_probs(probs, labels)
    if len(probs) != 2:
        warnings.warn(
            f"the discrepancy ratio is defined for two modalities; got {len(probs)}: returning NaN.",
            RuntimeWarning,
            stacklevel=2,
        )
        return {m: float("nan") for m in probs}
    sums = {m: float(gold_probability(p, labels).sum()) for m, p in probs.items()}
    if min(sums.values()) <= 0:
        warnings.warn("a modality has zero gold-class confidence; discrepancy ratio is NaN.", RuntimeWarning, stacklevel=2)
        return {m: float("nan") for m in probs}
    total = sum(sums.values())
    return {m: s / (total - s) for m, s in sums.items()}
