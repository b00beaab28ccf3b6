"""Linear probes: the fit against scikit-learn, the run's probe.json and its columns."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from spcl_diag.cli.main import main
from spcl_diag.evaluation import fit_linear_probe
from spcl_diag.runs.loading import load_runs


def test_probe_is_sklearns_l2_logistic_regression():
    rng = np.random.default_rng(0)
    n, h, c = 120, 5, 3
    labels = rng.integers(0, c, size=n)
    z = rng.normal(size=(n, h)) + labels[:, None] * rng.normal(size=h) * 0.8
    l2 = 1e-2
    probe = fit_linear_probe(torch.as_tensor(z, dtype=torch.float32), torch.as_tensor(labels), c, l2=l2)
    x = (z - z.mean(0)) / z.std(0)
    reference = LogisticRegression(C=1 / (n * l2), tol=1e-10, max_iter=5000).fit(x, labels)
    np.testing.assert_allclose(probe.weight.numpy(), reference.coef_, atol=2e-3)
    assert (probe.predict(torch.as_tensor(z, dtype=torch.float32)) == reference.predict(x)).mean() > 0.98


def test_probe_columns_in_the_run_tables(saved_run, runs_dir, capsys):
    results = load_runs(runs_dir).results
    row = results.set_index("run_id").loc[saved_run.run_id]
    for m in "tav":
        for column in (f"test_probe_wf1_{m}", f"test_probe_acc_{m}", f"dev_probe_wf1_{m}"):
            assert 0.0 <= row[column] <= 1.0
    before = row["test_probe_wf1_a"]
    assert main(["probe", str(saved_run.path)]) == 0
    assert '"test"' in capsys.readouterr().out
    assert load_runs(runs_dir).results.set_index("run_id").loc[saved_run.run_id, "test_probe_wf1_a"] == pytest.approx(before)
    assert "test_f1_class_class0_a" in results and "test_macro_f1_v" in results
