"""One small set of runs, built once per test session, for every figure test.

Late fusion on the synthetic benchmark: ``tav`` with ``none``, ``spcl``, ``random`` and
``anti``, and the pairs ``ta``, ``tv``, ``av`` with ``none``, for seeds 0 and 1 (14 runs
of a few epochs, a few seconds in all).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from spcl_diag import RunTables, load_runs
from spcl_diag.batch import Grid, run_batch

from ..conftest import TINY as ROOT_TINY

TINY = {**ROOT_TINY, "train.epochs": 4}  # one more epoch: curves need a few points


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plot_runs")
    for grid in (
        Grid(modalities=("tav",), curriculum=("none", "spcl", "random", "anti"), seed=(0, 1), overrides=TINY),
        Grid(modalities=("ta", "tv", "av"), curriculum=("none",), seed=(0, 1), overrides=TINY),
    ):
        summary = run_batch(grid, out, device="cpu", progress=False)
        assert not summary.failed, summary.failed
    return out


@pytest.fixture(scope="session")
def run_set(run_folder: Path) -> RunTables:
    return load_runs(run_folder)


@pytest.fixture
def comparison() -> pd.DataFrame:
    """A table shaped like ``spcl_diag.stats.compare`` output."""
    return pd.DataFrame(
        {
            "modalities": ["tav", "tav", "tav"],
            "metric": "test_wf1",
            "arm": ["spcl", "random", "anti"],
            "diff": [0.02, -0.01, -0.04],
            "diff_low": [0.01, -0.03, -0.06],
            "diff_high": [0.03, 0.01, -0.02],
            "p_adjusted": [0.01, 0.6, 0.03],
            "verdict": ["better", "no significant difference", "worse"],
        }
    )
