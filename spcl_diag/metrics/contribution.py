r"""How much a trained model relies on each modality: Shapley values, utilisation, perception.

These are the formulas only. Their inputs are scores of one trained model evaluated with
some modalities masked or permuted, produced by :mod:`spcl_diag.evaluation.masking`:

* ``values_by_subset`` maps every modality set :math:`S` (a string such as ``"ta"``; ``""``
  for the empty set) to :math:`v(S)`, the score (accuracy or weighted F1) of the model
  when the modalities outside :math:`S` are masked;
* the perceptual score takes the score of the intact model and the scores after one
  modality was permuted across the test set.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from math import factorial

import numpy as np

from spcl_diag.modalities import parse_modalities


def modality_subsets(modalities: str) -> list[str]:
    """All :math:`2^M` subsets of ``modalities`` as canonical strings, by size (``""`` first).

    Examples
    --------
    >>> modality_subsets("tav")
    ['', 't', 'a', 'v', 'ta', 'tv', 'av', 'tav']
    """
    modalities = parse_modalities(modalities)
    return [
        "".join(combo) for size in range(len(modalities) + 1) for combo in itertools.combinations(modalities, size)
    ]


def _canonical_values(values_by_subset: Mapping[str, float]) -> tuple[str, dict[str, float]]:
    """Validate a complete subset table; return the full modality set and canonical keys."""
    values: dict[str, float] = {}
    for key, value in values_by_subset.items():
        canonical = parse_modalities(key) if key else ""
        if canonical in values:
            raise ValueError(f"values_by_subset names the modality set {canonical!r} twice (as {key!r}).")
        values[canonical] = float(value)
    full = parse_modalities("".join(sorted({m for key in values for m in key}))) if any(values) else ""
    if not full:
        raise ValueError(f"values_by_subset must contain at least one modality; got keys {sorted(values_by_subset)}.")
    missing = [s for s in modality_subsets(full) if s not in values]
    if missing:
        raise ValueError(
            f"values_by_subset must give v(S) for all {2 ** len(full)} subsets of {full!r} "
            f"(with '' for the empty set); missing {missing}."
        )
    return full, values


def shapley_values(values_by_subset: Mapping[str, float]) -> dict[str, float]:
    r"""Exact Shapley value of each modality in the cooperative game :math:`v(S)`.

    .. math:: \phi_m = \sum_{S \subseteq N \setminus \{m\}}
              \frac{|S|!\,(M - |S| - 1)!}{M!}\,\big(v(S \cup \{m\}) - v(S)\big)

    over the :math:`2^M` subsets of the :math:`M` modalities :math:`N`. The values satisfy
    efficiency, :math:`\sum_m \phi_m = v(N) - v(\emptyset)`, so
    :math:`\phi_m / (v(N) - v(\emptyset))` is modality :math:`m`'s share of what the
    modalities add over the fully masked model. Hu et al. [2]_ use this game, with
    :math:`v` the accuracy of the trained model with the absent modalities masked, to
    measure modality contributions.

    Parameters
    ----------
    values_by_subset
        Modality set -> :math:`v(S)` for every subset of the full set (``""`` is the empty
        set); keys may be in any letter order.

    Returns
    -------
    dict
        Modality -> :math:`\phi_m`, in the canonical ``t, a, v`` order. For scores in
        :math:`[0, 1]`, :math:`\phi_m \in [-1, 1]`.

    References
    ----------
    .. [1] Shapley, "A Value for n-Person Games", Contributions to the Theory of Games II,
       1953.
    .. [2] Hu, Li and Zhou, "SHAPE: An Unified Approach to Evaluate the Contribution and
       Cooperation of Individual Modalities", IJCAI 2022.

    Examples
    --------
    >>> v = {"": 0.2, "t": 0.6, "a": 0.3, "ta": 0.7}
    >>> {m: round(phi, 3) for m, phi in shapley_values(v).items()}
    {'t': 0.4, 'a': 0.1}
    """
    full, values = _canonical_values(values_by_subset)
    M = len(full)
    phi = {}
    for m in full:
        others = full.replace(m, "")
        total = 0.0
        for S in modality_subsets(others) if others else [""]:
            weight = factorial(len(S)) * factorial(M - len(S) - 1) / factorial(M)
            total += weight * (values[parse_modalities(S + m)] - values[S])
        phi[m] = total
    return phi


def conditional_utilisation(values_by_subset: Mapping[str, float]) -> dict[str, float]:
    r"""Conditional utilisation rate of each modality given all the others (Wu et al., 2022).

    .. math:: u(m \mid N \setminus \{m\}) = \frac{v(N) - v(N \setminus \{m\})}{v(N)}

    the relative loss of score when the model loses access to :math:`m` but keeps every
    other modality. Wu et al. [1]_ define, for two modalities, the conditional
    utilisation rate :math:`u(m_1 \mid m_0) = (A(m_0, m_1) - A(m_0)) / A(m_0, m_1)` with
    :math:`A` the test accuracy; this is its leave-one-out form for :math:`M` modalities
    and coincides with it for :math:`M = 2`. Here :math:`v(N \setminus \{m\})` comes from
    the *same* trained model with :math:`m`'s input masked (:mod:`~spcl_diag.evaluation.masking`),
    not from a separately trained or re-fitted unimodal model. :math:`u_m \le 1`; a
    negative value means the model does better without :math:`m`. For :math:`v(N) \le 0`,
    NaN with a ``RuntimeWarning``.

    Parameters
    ----------
    values_by_subset
        Modality set -> :math:`v(S)`; only :math:`N` and the :math:`N \setminus \{m\}` are
        read, but a complete table of the :math:`2^M` subsets is required, as for
        :func:`shapley_values`.

    References
    ----------
    .. [1] Wu, Jastrzebski, Cho and Geras, "Characterizing and Overcoming the Greedy Nature
       of Learning in Multi-modal Deep Neural Networks", ICML 2022 (Sec. 3).

    Examples
    --------
    >>> v = {"": 0.2, "t": 0.6, "a": 0.3, "ta": 0.75}
    >>> {m: round(u, 3) for m, u in conditional_utilisation(v).items()}
    {'t': 0.6, 'a': 0.2}
    """
    full, values = _canonical_values(values_by_subset)
    v_full = values[full]
    if not v_full > 0:
        warnings.warn(
            f"conditional utilisation needs v(all) > 0; got {v_full}: returning NaN.", RuntimeWarning, stacklevel=2
        )
        return {m: float("nan") for m in full}
    return {m: (v_full - values[full.replace(m, "")]) / v_full for m in full}


def perceptual_score(
    value: float, permuted_values: Mapping[str, float | Sequence[float]], *, normalise: bool = True
) -> dict[str, float]:
    r"""Perceptual score of each modality: the score lost when it is permuted across the test set.

    .. math:: P_m = \frac{1}{Z}\Big(v - \frac1K \sum_{k=1}^K v_{\pi_k(m)}\Big), \qquad Z = v

    where :math:`v` is the score of the intact model and :math:`v_{\pi_k(m)}` its score after
    the features of modality :math:`m` were shuffled across the test samples by the
    :math:`k`-th random permutation :math:`\pi_k`, which keeps the modality's marginal
    distribution but breaks its link to the label. Gat et al. [1]_ stress taking the
    expectation over permutations and normalise by the model's accuracy :math:`Z = v`, so
    models of different accuracy compare; ``normalise=False`` gives the raw drop
    (:math:`Z = 1`). :math:`P_m \le 1`; near 0 means the model ignores :math:`m`. With
    ``normalise`` and :math:`v \le 0`, NaN with a ``RuntimeWarning``.

    Parameters
    ----------
    value
        Score of the intact model (accuracy in [1]_).
    permuted_values
        Modality -> score after permuting that modality, one value or one per permutation.
    normalise
        Divide by ``value`` (the paper's normalised score).

    References
    ----------
    .. [1] Gat, Schwartz and Schwing, "Perceptual Score: What Data Modalities Does Your
       Model Perceive?", NeurIPS 2021.

    Examples
    --------
    >>> {m: round(p, 3) for m, p in perceptual_score(0.8, {"t": [0.4, 0.5], "a": 0.7}).items()}
    {'t': 0.438, 'a': 0.125}
    """
    drops = {}
    for m, permuted in permuted_values.items():
        scores = np.atleast_1d(np.asarray(permuted, dtype=np.float64))
        if scores.ndim != 1 or not len(scores):
            raise ValueError(f"permuted_values[{m!r}] must be a score or a non-empty 1-D sequence; got {permuted!r}.")
        drops[parse_modalities(m)] = float(value) - float(scores.mean())
    if not normalise:
        return drops
    if not value > 0:
        warnings.warn(f"the normalised perceptual score needs a score > 0; got {value}: returning NaN.", RuntimeWarning, stacklevel=2)
        return {m: float("nan") for m in drops}
    return {m: d / float(value) for m, d in drops.items()}
