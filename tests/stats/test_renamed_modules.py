"""The modules of compare, aso and interaction are renamed; the old paths warn for one release (issue 27)."""

from __future__ import annotations

import importlib

import pytest

from spcl_diag import stats
from spcl_diag.stats import RENAMED_MODULES


@pytest.mark.parametrize(("old", "new"), sorted(RENAMED_MODULES.items()))
def test_the_function_is_not_hidden_and_the_old_module_path_warns(old, new):
    module = importlib.import_module(f"spcl_diag.stats.{new}")
    assert callable(getattr(stats, old)) and getattr(stats, old) is getattr(module, old)
    legacy = importlib.import_module(f"spcl_diag.stats.{old}")
    with pytest.warns(DeprecationWarning, match=f"spcl_diag.stats.{old} is renamed spcl_diag.stats.{new}"):
        forwarded = getattr(legacy, old)
    assert forwarded is getattr(module, old)
    assert callable(getattr(stats, old)), "importing the old path rebound the package attribute"
