"""The frames built from run folders live in runs/; plotting stays torch-free and draws frames."""

from __future__ import annotations

import subprocess
import sys

import pytest

from spcl_diag.runs import frames


def test_plotting_imports_no_torch():
    code = "import sys, spcl_diag.plots, spcl_diag.plots.figures; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(("old", "name"), [
    ("spcl_diag.plots", "difficulty_frame"), ("spcl_diag.plots", "confidence_frame"),
    ("spcl_diag.plots", "confusion_counts"), ("spcl_diag.plots.difficulty", "difficulty_frame"),
    ("spcl_diag.plots.confusion", "confusion_counts"),
])
def test_the_old_paths_of_the_frame_builders_warn_and_resolve(old, name):
    import importlib

    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=f"moved to spcl_diag.runs.frames.{name}"):
        assert getattr(module, name) is getattr(frames, name)
