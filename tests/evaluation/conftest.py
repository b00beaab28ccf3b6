"""One trained tiny run (with probes and TensorBoard) shared by the evaluation tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from spcl_diag import RunConfig
from spcl_diag.runs.execute import RunResult, run

from ..conftest import TINY


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory) -> RunResult:
    config = RunConfig(dataset="synthetic", backbone="late_fusion", modalities="tav").with_overrides(TINY)
    result = run(config, tmp_path_factory.mktemp("runs"), device="cpu", probe=True, log=["tensorboard"])
    assert result.status == "ok"
    return result


@pytest.fixture(scope="module")
def runs_dir(saved_run) -> Path:
    return saved_run.path.parent
