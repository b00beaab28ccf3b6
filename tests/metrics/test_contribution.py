"""Shapley values, conditional utilisation and perceptual score against loop-based references."""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np
import pytest

from spcl_diag.metrics import (
    conditional_utilisation,
    modality_subsets,
    perceptual_score,
    shapley_values,
)


def _game(rng: np.random.Generator, modalities: str) -> dict[str, float]:
    return {s: float(rng.uniform()) for s in modality_subsets(modalities)}


def _shapley_by_orderings(values: dict[str, float], modalities: str) -> dict[str, float]:
    """Reference: the average marginal contribution over all M! orders of arrival."""
    phi = dict.fromkeys(modalities, 0.0)
    for order in itertools.permutations(modalities):
        present = ""
        for m in order:
            before = "".join(k for k in modalities if k in present)
            present += m
            after = "".join(k for k in modalities if k in present)
            phi[m] += values[after] - values[before]
    return {m: total / factorial(len(modalities)) for m, total in phi.items()}


@pytest.mark.parametrize("modalities", ["t", "ta", "tav"])
@pytest.mark.parametrize("seed", range(4))
def test_shapley_matches_ordering_reference_and_is_efficient(modalities, seed):
    values = _game(np.random.default_rng(seed), modalities)
    phi = shapley_values(values)
    assert phi == pytest.approx(_shapley_by_orderings(values, modalities), abs=1e-12)
    assert sum(phi.values()) == pytest.approx(values[modalities] - values[""], abs=1e-12)


def test_shapley_null_player_and_symmetry():
    # v depends on t and a only, symmetrically; v is a null player
    values = {s: 0.1 + 0.3 * ("t" in s) + 0.3 * ("a" in s) for s in modality_subsets("tav")}
    phi = shapley_values(values)
    assert phi["v"] == pytest.approx(0.0)
    assert phi["t"] == pytest.approx(phi["a"]) == pytest.approx(0.3)


def test_shapley_accepts_any_letter_order_and_reports_missing_subsets():
    assert shapley_values({"": 0.0, "t": 0.5, "a": 0.2, "at": 0.9}) == shapley_values(
        {"": 0.0, "t": 0.5, "a": 0.2, "ta": 0.9}
    )
    with pytest.raises(ValueError, match=r"all 8 subsets of 'tav'.*missing \['av'\]"):
        shapley_values({s: 0.5 for s in modality_subsets("tav") if s != "av"})


def test_conditional_utilisation_matches_reference():
    values = _game(np.random.default_rng(7), "tav")
    expected = {m: (values["tav"] - values["tav".replace(m, "")]) / values["tav"] for m in "tav"}
    assert conditional_utilisation(values) == pytest.approx(expected)
    # two modalities: Wu et al.'s u(m1 | m0) = (A(m0, m1) - A(m0)) / A(m0, m1)
    two = {"": 0.1, "t": 0.6, "a": 0.3, "ta": 0.8}
    assert conditional_utilisation(two)["a"] == pytest.approx((0.8 - 0.6) / 0.8)


def test_conditional_utilisation_zero_score_is_nan():
    values = dict.fromkeys(modality_subsets("ta"), 0.0)
    with pytest.warns(RuntimeWarning, match="v\\(all\\) > 0"):
        assert all(np.isnan(u) for u in conditional_utilisation(values).values())


def test_perceptual_score_matches_reference():
    permuted = {"t": [0.3, 0.5, 0.4], "a": [0.7], "v": 0.75}
    got = perceptual_score(0.8, permuted)
    assert got == pytest.approx({"t": (0.8 - 0.4) / 0.8, "a": 0.1 / 0.8, "v": 0.05 / 0.8})
    assert perceptual_score(0.8, permuted, normalise=False) == pytest.approx({"t": 0.4, "a": 0.1, "v": 0.05})
    with pytest.warns(RuntimeWarning, match="score > 0"):
        assert np.isnan(perceptual_score(0.0, permuted)["t"])
    with pytest.raises(ValueError, match=r"permuted_values\['t'\] must be"):
        perceptual_score(0.8, {"t": []})
