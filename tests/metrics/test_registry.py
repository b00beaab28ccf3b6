"""Generic property tests over every metric in ``METRICS``.

For each input kind a generator draws random inputs from a seed; the properties are:
renaming the modalities permutes the output, reordering the utterances changes nothing,
the same seed gives identical results, and the values respect the declared bounds.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spcl_diag.metrics import METRICS, MetricSpec, modality_subsets

MODALITY_SETS = ["ta", "tv", "av", "tav"]
SEEDS = st.integers(0, 2**32 - 1)
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None)


def make_inputs(kind: str, rng: np.random.Generator, modalities: str) -> tuple[Any, ...]:
    if kind == "probs":
        n, c = int(rng.integers(4, 40)), int(rng.integers(2, 7))
        probs = {m: rng.dirichlet(np.full(c, rng.uniform(0.2, 3.0)), size=n) for m in modalities}
        return probs, rng.integers(0, c, size=n)
    if kind == "subsets":
        return ({s: float(rng.uniform(0.05, 1.0)) for s in modality_subsets(modalities)},)
    if kind == "permuted":
        k = int(rng.integers(1, 5))
        return float(rng.uniform(0.05, 1.0)), {m: list(rng.uniform(0.0, 1.0, size=k)) for m in modalities}
    if kind == "grad_norms":
        return ({**{m: float(rng.uniform(0.0, 5.0)) for m in modalities}, "shared": float(rng.uniform(0, 5))},)
    if kind == "curve":
        return (rng.uniform(0.9, 3.0, size=int(rng.integers(2, 30))),)
    raise AssertionError(f"no generator for input kind {kind!r}")


def rename(kind: str, args: tuple[Any, ...], mapping: dict[str, str]) -> tuple[Any, ...]:
    if kind == "probs":
        return {mapping[m]: p for m, p in args[0].items()}, args[1]
    if kind == "subsets":
        return ({"".join(mapping[c] for c in s): v for s, v in args[0].items()},)
    if kind == "permuted":
        return args[0], {mapping[m]: v for m, v in args[1].items()}
    if kind == "grad_norms":
        return ({mapping.get(k, k): v for k, v in args[0].items()},)
    raise AssertionError(kind)


def call(spec: MetricSpec, args: tuple[Any, ...]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # degenerate inputs return NaN by design
        return spec.func(*args)


def values_of(out: Any) -> list[float]:
    return [float(v) for v in out.values()] if isinstance(out, dict) else [float(out)]


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


SYMMETRIC = sorted(name for name, spec in METRICS.items() if spec.modality_symmetric)
PER_UTTERANCE = sorted(name for name, spec in METRICS.items() if spec.inputs == "probs")


def test_registry_entries_are_well_formed():
    for name, spec in METRICS.items():
        assert spec.bounds[0] <= spec.bounds[1], name
        assert spec.higher_is_better in (True, False, None), name
        assert spec.description, name
        assert spec.inputs in ("probs", "subsets", "permuted", "grad_norms", "curve"), name


@pytest.mark.parametrize("name", SYMMETRIC)
@PROPERTY_SETTINGS
@given(seed=SEEDS, set_index=st.integers(0, len(MODALITY_SETS) - 1), order=st.permutations("tav"))
def test_renaming_modalities_permutes_the_output(name, seed, set_index, order):
    spec = METRICS[name]
    modalities = MODALITY_SETS[set_index]
    mapping = dict(zip("tav", order))
    args = make_inputs(spec.inputs, np.random.default_rng(seed), modalities)
    out, renamed = call(spec, args), call(spec, rename(spec.inputs, args, mapping))
    if isinstance(out, dict):
        assert set(renamed) == {mapping[m] for m in out}
        assert all(same(out[m], renamed[mapping[m]]) for m in out), (out, renamed)
    else:
        assert same(out, renamed)


@pytest.mark.parametrize("name", PER_UTTERANCE)
@PROPERTY_SETTINGS
@given(seed=SEEDS, set_index=st.integers(0, len(MODALITY_SETS) - 1))
def test_reordering_utterances_changes_nothing(name, seed, set_index):
    spec = METRICS[name]
    rng = np.random.default_rng(seed)
    probs, labels = make_inputs("probs", rng, MODALITY_SETS[set_index])
    order = rng.permutation(len(labels))
    out = call(spec, (probs, labels))
    shuffled = call(spec, ({m: p[order] for m, p in probs.items()}, labels[order]))
    assert all(same(a, b) for a, b in zip(values_of(out), values_of(shuffled)))


@pytest.mark.parametrize("name", sorted(METRICS))
@PROPERTY_SETTINGS
@given(seed=SEEDS, set_index=st.integers(0, len(MODALITY_SETS) - 1))
def test_same_seed_identical_and_bounds_respected(name, seed, set_index):
    spec = METRICS[name]
    modalities = MODALITY_SETS[set_index]
    first = call(spec, make_inputs(spec.inputs, np.random.default_rng(seed), modalities))
    second = call(spec, make_inputs(spec.inputs, np.random.default_rng(seed), modalities))
    assert all(same(a, b) for a, b in zip(values_of(first), values_of(second)))
    low, high = spec.bounds
    for value in values_of(first):
        assert math.isnan(value) or low - 1e-9 <= value <= high + 1e-9, (name, value, spec.bounds)
