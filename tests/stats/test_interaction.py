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
