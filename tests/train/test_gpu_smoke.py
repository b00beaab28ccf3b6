"""GPU smoke test: a tiny run on CUDA trains and agrees with the CPU run (skipped without CUDA)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from spcl_diag import run

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_cuda_run_matches_cpu_run(tmp_path, tiny_config):
    config = tiny_config.paired("spcl").with_overrides({"model.drop_rate": 0.0})  # dropout RNGs differ by device
    cpu = run(config, tmp_path / "cpu", device="cpu")
    gpu = run(config, tmp_path / "gpu", device="cuda")
    assert cpu.status == gpu.status == "ok"
    a, b = (pd.read_csv(r.path / "epochs.csv").query("metric == 'loss'") for r in (cpu, gpu))
    np.testing.assert_allclose(a["value"].to_numpy(), b["value"].to_numpy(), rtol=2e-3, atol=2e-4)
