"""One small set of runs, built once per test session, for every figure test.

Late fusion on the synthetic benchmark: ``tav`` with ``none``, ``spcl``, ``random`` and
``anti``, and the pairs ``ta``, ``tv``, ``av`` with ``none``, for seeds 0 and 1 (14 runs
of a few epochs, a few seconds in all).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from spcl_diag import RunTables, load_runs
from spcl_diag.batch import Grid, run_batch

TINY = {
    "train.epochs": 4,
    "train.batch_size": 4,
    "data.synthetic.n_dialogues": 16,
    "data.synthetic.min_length": 3,
    "data.synthetic.max_length": 8,
    "model.hidden_dim": 16,
    "model.feedforward_dim": 32,
}


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plot_runs")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: extra threads only contend
    try:
        for grid in (
            Grid(modalities=("tav",), curriculum=("none", "spcl", "random", "anti"), seed=(0, 1), overrides=TINY),
            Grid(modalities=("ta", "tv", "av"), curriculum=("none",), seed=(0, 1), overrides=TINY),
        ):
            summary = run_batch(grid, out, device="cpu", progress=False)
            assert not summary.failed, summary.failed
    finally:
        torch.set_num_threads(threads)
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
