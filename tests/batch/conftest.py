"""A tiny grid whose runs train in about a second each on CPU."""

from __future__ import annotations

import pytest

from spcl_diag.batch import Grid

from ..conftest import TINY


@pytest.fixture
def tiny_grid() -> Grid:
    """``none`` and ``spcl`` for seeds 0 and 1 (four runs)."""
    return Grid(curriculum=("none", "spcl"), seed=(0, 1), overrides=TINY)


