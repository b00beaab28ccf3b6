"""GPU smoke tests (skipped without CUDA): a tiny CUDA run agrees with the CPU run, and steps make no host sync."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from spcl_diag import run
from spcl_diag.data.registry import resolve_dataset
from spcl_diag.train.loop import train_run

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


@pytest.mark.parametrize("backbone", ["late_fusion", "mmgcn", "dialogue_gcn", "ada2i"])
def test_host_synchronisations_do_not_grow_with_the_steps_of_an_epoch(tiny_config, backbone):
    """Steps make no host sync: tripling the training steps leaves the count of syncs unchanged."""

    def synchronisations(n_dialogues: int) -> int:
        config = tiny_config.with_overrides({"backbone": backbone, "data.synthetic.n_dialogues": n_dialogues,
                                             "curriculum": "spcl"}).resolved()
        dataset = resolve_dataset(config.dataset, config.data, modalities=config.modalities)
        torch.cuda.set_sync_debug_mode("warn")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                train_run(config, dataset, device=torch.device("cuda"))
        finally:
            torch.cuda.set_sync_debug_mode("default")
        return sum("synchronizing" in str(w.message) for w in caught)

    few, many = synchronisations(16), synchronisations(48)
    assert few > 0, "sync debug mode reported nothing; the check would be vacuous"
    assert many == few, f"{few} syncs with 16 dialogues but {many} with 48: something syncs per step"
