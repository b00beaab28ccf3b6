"""The modules of compare, aso and interaction are renamed; the old paths warn for one release (issue 27)."""

from __future__ import annotations

import importlib

import pytest

import spcl_diag.stats as stats
from spcl_diag.stats import RENAMED_MODULES


@pytest.mark.parametrize(("old", "new"), sorted(RENAMED_MODULES.items()))
def test_the_function_is_not_hidden_and_the_old_module_path_warns(old, new):
    module = importlib.import_module(f"spcl_diag.stats.{new}")
    assert callable(getattr(stats, old)) and getattr(stats, old) is getattr(module, old)
    with pytest.warns(DeprecationWarning, match=f"spcl_diag.stats.{old} is renamed spcl_diag.stats.{new}"):
        legacy = importlib.import_module(f"spcl_diag.stats.{old}")
        assert getattr(legacy, old) is getattr(module, old)
    assert callable(getattr(stats, old)), "importing the old path rebound the package attribute"
