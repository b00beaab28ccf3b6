"""The interaction contrast of a 2 x 2 factorial grid, and compare() grouping by balancing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from spcl_diag.stats import compare, interaction


def _factorial(values: dict[tuple[str, str], list[float]], **extra) -> pd.DataFrame:
    rows = [
        {"dataset": "synthetic", "backbone": "late_fusion", "modalities": "ta", "curriculum": c, "balancing": b,
         "seed": seed, "status": "ok", "test_wf1": v, **extra}
        for (c, b), vs in values.items() for seed, v in enumerate(vs)
    ]
    return pd.DataFrame(rows)


VALUES = {
    ("none", "none"): [0.60, 0.61, 0.62, 0.59, 0.63],
    ("spcl", "none"): [0.63, 0.65, 0.64, 0.62, 0.66],
    ("none", "ogm-ge"): [0.64, 0.63, 0.66, 0.62, 0.65],
    ("spcl", "ogm-ge"): [0.65, 0.64, 0.66, 0.62, 0.67],
}


def test_interaction_matches_the_per_seed_contrast_and_scipy():
    table = interaction(_factorial(VALUES), "test_wf1", rng=np.random.default_rng(0))
    assert len(table) == 1
    row = table.iloc[0]
    y = {k: np.array(v) for k, v in VALUES.items()}
    delta = (y["spcl", "ogm-ge"] - y["none", "ogm-ge"]) - (y["spcl", "none"] - y["none", "none"])
    assert row.interaction == pytest.approx(delta.mean())
    assert row.effect_a_at_b0 == pytest.approx((y["spcl", "none"] - y["none", "none"]).mean())
    half = sps.t.ppf(0.975, 4) * delta.std(ddof=1) / np.sqrt(5)
    assert (row.ci_low, row.ci_high) == pytest.approx((delta.mean() - half, delta.mean() + half))
    assert row.p == pytest.approx(sps.ttest_1samp(delta, 0).pvalue)
    assert row.n_seeds == 5 and row.seeds == "0,1,2,3,4"
    assert row.verdict.startswith("the effect of spcl is smaller with ogm-ge")


def test_interaction_pairs_seeds_and_explains_gaps():
    frame = _factorial(VALUES)
    frame = frame[~((frame.curriculum == "spcl") & (frame.balancing == "ogm-ge") & (frame.seed == 4))]
    row = interaction(frame, "test_wf1", rng=np.random.default_rng(0)).iloc[0]
    assert row.n_seeds == 4 and row.seeds == "0,1,2,3"
    wilcoxon = interaction(frame, "test_wf1", test="wilcoxon", rng=np.random.default_rng(0)).iloc[0]
    assert wilcoxon.verdict.startswith("cannot reach p<0.05 with 4 seeds")
    empty = interaction(frame[frame.balancing == "none"], "test_wf1", rng=np.random.default_rng(0)).iloc[0]
    assert empty.verdict == "no seed has all four cells"
    with pytest.raises(ValueError, match="'test_acc_v'"):
        interaction(frame, "test_acc_v", rng=np.random.default_rng(0))


def test_compare_groups_by_balancing_where_runs_vary_in_it():
    frame = _factorial(VALUES)
    table = compare(frame, "test_wf1", rng=np.random.default_rng(0))
    assert list(table.balancing) == ["none", "ogm-ge"]
    assert table.set_index("balancing")["diff"].to_dict() == pytest.approx({"none": 0.03, "ogm-ge": 0.008})
    one = compare(frame[frame.balancing == "none"], "test_wf1", rng=np.random.default_rng(0))
    assert "balancing" not in one.columns
    by_method = compare(frame[frame.curriculum == "none"], "test_wf1", arm_column="balancing", rng=np.random.default_rng(0))
    assert list(by_method.arm) == ["ogm-ge"]


def _contrast(deltas, group: str = "g0") -> pd.DataFrame:
    """A 2 x 2 grid whose per-seed interaction contrast is ``deltas`` (only spcl+ogm-ge moves)."""
    rows = []
    for seed, d in enumerate(deltas):
        for (c, b), v in {("none", "none"): 0.6, ("spcl", "none"): 0.6, ("none", "ogm-ge"): 0.6,
                          ("spcl", "ogm-ge"): 0.6 + d}.items():
            rows.append({"dataset": group, "curriculum": c, "balancing": b, "seed": seed, "status": "ok", "test_wf1": v})
    return pd.DataFrame(rows)


def test_mixed_tuning_and_evaluation_seeds_are_refused():
    frame = _factorial(VALUES)
    frame["seed_role"] = np.where(frame["seed"] < 3, "tune", "eval")
    with pytest.raises(ValueError, match="interaction: the runs mix tuning and evaluation seeds"):
        interaction(frame, "test_wf1", rng=np.random.default_rng(0))


def test_groups_are_one_holm_family_as_in_compare():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(5)
    frame = pd.concat([_contrast(rng.normal(0, 0.01, 6), f"g{g}") for g in range(9)]
                      + [_contrast([0.012, 0.01, 0.011, 0.009, 0.013, 0.012], "g9")], ignore_index=True)
    table = interaction(frame, "test_wf1", by=("dataset",), rng=np.random.default_rng(0))
    assert (table["n_comparisons"] == 10).all() and (table["correction"] == "holm").all()
    np.testing.assert_allclose(table["p_adjusted"], multipletests(table["p"], method="holm")[1])
    g9 = table.set_index("dataset").loc["g9"]
    assert g9["p"] < 0.05 / 10 and g9["verdict"].startswith("the effect of spcl is larger with ogm-ge than with none (p_holm=")
    raw = interaction(frame, "test_wf1", by=("dataset",), correction="none", rng=np.random.default_rng(0))
    np.testing.assert_allclose(raw["p"], table["p"])
    np.testing.assert_allclose(raw["p_adjusted"], raw["p"])
    assert raw.set_index("dataset").loc["g9", "verdict"].endswith(f"(p={g9['p']:.2g})")


def test_a_test_pointing_against_the_mean_contrast_is_flagged():
    deltas = [0.01] * 11 + [-0.20]  # mean -0.0075, but 11 of 12 seeds positive
    row = interaction(_contrast(deltas), "test_wf1", by=(), test="wilcoxon", rng=np.random.default_rng(0)).iloc[0]
    assert row["p"] == pytest.approx(sps.wilcoxon(np.array(deltas)).pvalue) == pytest.approx(0.0332, abs=1e-4)
    assert row["interaction"] == pytest.approx(-0.0075)
    assert row["verdict"].startswith("the effect of spcl is smaller with ogm-ge") and "the test points the other way" in row["verdict"]
    assert "favours a larger effect of spcl with ogm-ge" in row["note"] and "-0.0075" in row["note"]


def test_cannot_reach_counts_the_non_zero_contrasts():
    row = interaction(_contrast([0.01, 0.02, 0.0, 0.03, 0.0, 0.015, 0.0]), "test_wf1", by=(), test="wilcoxon",
                      rng=np.random.default_rng(0)).iloc[0]
    assert row["min_p"] == pytest.approx(0.125)
    assert row["verdict"] == "cannot reach p<0.05 with 4 non-tied of 7 seeds (min p 0.125)"
    assert "3 zero contrast(s) dropped by the Wilcoxon test" in row["note"]
