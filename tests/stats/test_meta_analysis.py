"""Random-effects meta-analysis against statsmodels' combine_effects and WLS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from spcl_diag.stats.meta_analysis import meta_analysis, meta_regression, meta_table, pool


def _runs(gains, *, n_seeds=6, sd=0.01, seed=0, backbones=None):
    rng = np.random.default_rng(seed)
    rows = []
    for i, gain in enumerate(gains):
        backbone = backbones[i] if backbones else "late_fusion"
        for s in range(n_seeds):
            base = 0.6 + rng.normal(0, 0.02)
            for arm, value in (("none", base), ("spcl", base + gain + rng.normal(0, sd))):
                rows.append({"dataset": f"d{i}", "backbone": backbone, "modalities": "tav", "curriculum": arm,
                             "seed": s, "test_wf1": value, "test_acc_t": 0.5 + 0.05 * i, "status": "ok"})
    return pd.DataFrame(rows)


def _cell_effects(frame):
    wide = frame.pivot_table(index=["dataset", "seed"], columns="curriculum", values="test_wf1")
    d = (wide["spcl"] - wide["none"]).groupby(level="dataset")
    return d.mean().to_numpy(), (d.var(ddof=1) / d.count()).to_numpy()


@pytest.mark.parametrize("method,sm_method", [("dl", "chi2"), ("pm", "iterated")])
def test_pooled_effect_matches_combine_effects(method, sm_method):
    frame = _runs([0.0, 0.01, 0.03, 0.05, 0.02])  # heterogeneous: tau^2 > 0
    y, v = _cell_effects(frame)
    ref = combine_effects(y, v, method_re=sm_method)
    assert ref.tau2 > 0
    result = meta_analysis(frame, "test_wf1", method=method)
    low, high = ref.conf_int(use_t=False)[1]
    assert result.pooled.estimate == pytest.approx(ref.mean_effect_re, rel=1e-10)
    assert result.pooled.se == pytest.approx(ref.sd_eff_w_re, rel=1e-10)
    assert (result.pooled.ci_low, result.pooled.ci_high) == pytest.approx((low, high), rel=1e-10)
    assert result.pooled.tau2 == pytest.approx(ref.tau2, rel=1e-10)
    assert result.pooled.q == pytest.approx(ref.q, rel=1e-10)
    assert result.pooled.i2 == pytest.approx(ref.i2, rel=1e-10)
    assert result.pooled.q_p == pytest.approx(ref.test_homogeneity().pvalue, rel=1e-10)
    np.testing.assert_allclose(result.cells["weight"], ref.weights_rel_re, rtol=1e-10)
    half = stats.t.isf(0.025, 5 - 2) * np.sqrt(ref.tau2 + ref.sd_eff_w_re**2)
    assert (result.prediction_low, result.prediction_high) == pytest.approx(
        (ref.mean_effect_re - half, ref.mean_effect_re + half), rel=1e-10)
    assert result.pooled.ci_low > 0 and "better" in result.summary()


def test_negative_dl_tau2_is_truncated_to_the_fixed_effect():
    y, v = np.array([0.1, 0.2, 0.3, 0.1]), np.array([0.01, 0.02, 0.01, 0.03])
    ref = combine_effects(y, v, method_re="chi2")
    assert ref.tau2 < 0  # statsmodels 0.15 leaves it negative
    pooled = pool(y, v, method="dl")
    assert pooled.tau2 == 0 and pooled.i2 == 0
    assert pooled.estimate == pytest.approx(ref.mean_effect_fe, rel=1e-12)
    assert pooled.se == pytest.approx(ref.sd_eff_w_fe, rel=1e-12)


def test_meta_regression_matches_wls_and_reduces_to_the_pooled_mean():
    frame = _runs([0.0, 0.01, 0.03, 0.05, 0.04, 0.02], backbones=["a", "a", "b", "b", "b", "a"])
    y, v = _cell_effects(frame)
    intercept_only, tau2 = meta_regression(y, v, pd.DataFrame({"intercept": np.ones(len(y))}))
    pooled = pool(y, v, method="dl")
    assert tau2 == pytest.approx(pooled.tau2, rel=1e-10)
    assert intercept_only["coef"][0] == pytest.approx(pooled.estimate, rel=1e-10)
    assert intercept_only["se"][0] == pytest.approx(pooled.se, rel=1e-10)
    result = meta_analysis(frame, "test_wf1", moderators=("backbone",))
    x = np.c_[np.ones(6), (frame.groupby("dataset")["backbone"].first() == "b").to_numpy(float)]
    ref = sm.WLS(y, x, weights=1 / (v + result.tau2_residual)).fit(cov_type="fixed scale")
    np.testing.assert_allclose(result.regression["coef"], ref.params, rtol=1e-10)
    np.testing.assert_allclose(result.regression["p"], ref.pvalues, rtol=1e-10)
    assert result.regression["term"].tolist() == ["intercept", "backbone_b"]
    numeric = meta_analysis(frame, "test_wf1", moderators=("test_acc_t",))
    assert numeric.regression["term"].tolist() == ["intercept", "test_acc_t (none mean)"]


def test_leave_one_out_drops_each_cell():
    frame = _runs([0.0, 0.01, 0.03, 0.08])
    result = meta_analysis(frame, "test_wf1")
    y, v = _cell_effects(frame)
    for i, row in result.leave_one_out.iterrows():
        p = pool(np.delete(y, i), np.delete(v, i))
        assert row["estimate"] == pytest.approx(p.estimate, rel=1e-12)
    assert result.leave_one_out["dataset"].tolist() == ["d0", "d1", "d2", "d3"]
    table = meta_table(result)
    assert table["cell"].tolist()[-2:] == ["pooled (dl)", "prediction (new cell)"]


def test_refuses_mixed_seed_roles_and_too_few_cells():
    frame = _runs([0.01, 0.02, 0.03]).assign(seed_role="eval")
    frame.loc[frame["seed"] == 0, "seed_role"] = "tune"
    with pytest.raises(ValueError, match="mix tuning and evaluation seeds"):
        meta_analysis(frame, "test_wf1")
    with pytest.raises(ValueError, match="1 usable cell"):
        meta_analysis(_runs([0.01]), "test_wf1")


def test_cells_without_a_variance_are_left_out_with_a_note():
    frame = _runs([0.01, 0.02, 0.03])
    frame.loc[(frame["dataset"] == "d0") & (frame["curriculum"] == "spcl"), "test_wf1"] = (
        frame.loc[(frame["dataset"] == "d0") & (frame["curriculum"] == "none"), "test_wf1"].to_numpy() + 0.01)
    result = meta_analysis(frame, "test_wf1")
    assert result.pooled.k == 2 and any("d0" in n and "variance 0" in n for n in result.notes)
