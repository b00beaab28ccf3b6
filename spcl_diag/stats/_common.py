"""Shared pieces of :mod:`spcl_diag.stats`: parameter docs written once, input checks.

Docstrings name a shared text with a placeholder such as ``%(rng)s``; :func:`fill_doc`
replaces it with the text below, continuation lines indented like the placeholder's line.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spcl_diag.docstrings import docfiller

Alternative = Literal["two-sided", "greater", "less"]
ALTERNATIVES: tuple[str, ...] = ("two-sided", "greater", "less")

PARAMETER_DOCS: dict[str, str] = {
    "rng": """rng
    The :class:`numpy.random.Generator` that supplies every random draw (required; pass
    ``np.random.default_rng(seed)`` for reproducible results). No global state is used.""",
    "confidence_level": """confidence_level
    Coverage of the interval, in (0, 1); 0.95 gives a 95 % interval.""",
    "n_resamples": """n_resamples
    Number of bootstrap resamples.""",
    "alternative": """alternative
    ``"two-sided"``, ``"greater"`` (``a`` tends to exceed ``b``) or ``"less"``.""",
    "paired": """a, b
    ``[n]`` paired scores: ``a[i]`` and ``b[i]`` come from the same seed. The difference
    is ``d = a - b``.""",
    "degenerate": """For degenerate input (too few values, zero variance) the result holds ``nan``
and a :class:`RuntimeWarning` says why; nothing is raised.""",
}

fill_doc = docfiller(PARAMETER_DOCS)
"""Replace the ``%(name)s`` placeholders of a docstring by :data:`PARAMETER_DOCS`."""


def as_vector(x: ArrayLike, name: str, *, min_size: int = 0) -> NDArray[np.float64]:
    """``x`` as a 1-D float array, or a ValueError that names the argument."""
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {array.shape}.")
    if array.size < min_size:
        raise ValueError(f"{name} needs at least {min_size} values; got {array.size}.")
    if np.isnan(array).any():
        raise ValueError(f"{name} contains nan at positions {np.flatnonzero(np.isnan(array))[:10].tolist()}; drop them first.")
    return array


def as_pair(a: ArrayLike, b: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two paired 1-D float arrays of the same length."""
    x, y = as_vector(a, "a"), as_vector(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"paired samples must have the same length; got a: {x.size}, b: {y.size}.")
    return x, y


#: Relative tolerance of ties: differences within ``TIE_RTOL`` times the largest absolute
#: score count as equal (and as zero), so that scores stored at a fixed precision (F1 to 4
#: decimals) are not ranked by floating-point noise: 0.6124 - 0.6101 and 0.7057 - 0.7034
#: differ by about 1e-16, far below 1e-9 and far below any precision a score is kept at.
TIE_RTOL = 1e-9


def tie_tolerance(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Absolute tolerance of ties of ``a - b``: :data:`TIE_RTOL` times the largest ``|score|``."""
    scale = max(float(np.abs(a).max(initial=0.0)), float(np.abs(b).max(initial=0.0)))
    return TIE_RTOL * scale


def check_confidence_level(confidence_level: float) -> None:
    if not 0 < confidence_level < 1:
        raise ValueError(f"confidence_level must lie in (0, 1); got {confidence_level}.")


def check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}; got {alternative!r}.")


def check_rng(rng: object) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)); got {type(rng).__name__}.")


def check_positive_int(value: int, name: str, minimum: int = 1) -> None:
    if int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}.")


def degenerate(message: str) -> float:
    """Warn that the input is degenerate and return ``nan``."""
    warnings.warn(message, RuntimeWarning, stacklevel=3)
    return float("nan")
