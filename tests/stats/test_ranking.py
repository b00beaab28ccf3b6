"""rank_arms against autorank, baycomp and scipy called directly; missing cells are named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

autorank = pytest.importorskip("autorank")
baycomp = pytest.importorskip("baycomp")

from spcl_diag.stats.ranking import rank_arms, ranking_table

ARMS = ("none", "spcl", "random", "anti")


def _results(n_cells: int = 7, seeds: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    gains = {"none": 0.0, "spcl": 0.02, "random": 0.012, "anti": -0.015}
    rows = [{"dataset": f"d{c}", "backbone": "late_fusion", "modalities": "tav", "curriculum": arm, "seed": s,
             "status": "ok", "test_wf1": 0.55 + 0.02 * c + gains[arm] + rng.normal(0, 0.01)}
            for c in range(n_cells) for s in range(seeds) for arm in ARMS]
    return pd.DataFrame(rows)


def test_friedman_nemenyi_match_autorank_and_scipy():
    frame = _results()
    ranking = rank_arms(frame, "test_wf1", rng=np.random.default_rng(0), n_samples=2000)
    matrix = frame.groupby(["dataset", "curriculum"])["test_wf1"].mean().unstack()[list(ranking.scores.columns)]
    np.testing.assert_allclose(ranking.scores.to_numpy(), matrix.to_numpy())
    direct = autorank.autorank(matrix.reset_index(drop=True), alpha=0.05, force_mode="nonparametric", order="descending")
    assert ranking.friedman_p == pytest.approx(direct.pvalue) and ranking.critical_difference == pytest.approx(direct.cd)
    assert ranking.mean_ranks.to_dict() == pytest.approx(direct.rankdf["meanrank"].to_dict())
    assert ranking.friedman_p == pytest.approx(sps.friedmanchisquare(*matrix.to_numpy().T).pvalue)
    k, n = matrix.shape[1], matrix.shape[0]  # Nemenyi CD from the studentised range
    q = sps.studentized_range.ppf(0.95, k, np.inf) / np.sqrt(2)
    assert ranking.critical_difference == pytest.approx(q * np.sqrt(k * (k + 1) / (6 * n)), rel=1e-3)
    assert ranking.mean_ranks.index[0] == "spcl" and ranking.method == "friedman + nemenyi"


def test_bayesian_pairs_match_baycomp():
    frame = _results()
    ranking = rank_arms(frame, "test_wf1", rng=np.random.default_rng(0), rope=0.01, n_samples=2000)
    row = ranking.pairwise.set_index(["arm_a", "arm_b"]).loc[("spcl", "none")]
    x, y = ranking.scores["spcl"].to_numpy(), ranking.scores["none"].to_numpy()
    seeds = np.random.default_rng(0).integers(0, 2**31 - 1, size=len(ranking.pairwise))
    position = list(ranking.pairwise.set_index(["arm_a", "arm_b"]).index).index(("spcl", "none"))
    expected = baycomp.two_on_multiple(x, y, rope=0.01, nsamples=2000, random_state=int(seeds[position]))
    assert (row["p_a_better"], row["p_rope"], row["p_b_better"]) == pytest.approx(expected)
    assert row["p_a_better"] > 0.95 and ranking_table(ranking).set_index(["arm_a", "arm_b"]).loc[
        ("spcl", "none"), "bayesian_verdict"].startswith("spcl better (P=")


def test_lower_is_better_reverses_the_ranks():
    frame = _results().assign(test_disparity_ratio_t=lambda f: -f["test_wf1"])
    up = rank_arms(frame, "test_wf1", rng=np.random.default_rng(0), n_samples=500)
    down = rank_arms(frame, "test_disparity_ratio_t", rng=np.random.default_rng(0), n_samples=500)
    assert up.mean_ranks.to_dict() == pytest.approx(down.mean_ranks.to_dict()) and not down.higher_is_better


def test_missing_and_failed_runs_are_named_not_hidden():
    frame = _results()
    frame.loc[(frame["dataset"] == "d1") & (frame["curriculum"] == "anti"), "status"] = "failed"
    frame = frame[~((frame["dataset"] == "d2") & (frame["curriculum"] == "random"))]
    frame.loc[(frame["dataset"] == "d3") & (frame["curriculum"] == "none") & (frame["seed"] == 1), "status"] = "failed"
    ranking = rank_arms(frame, "test_wf1", rng=np.random.default_rng(0), n_samples=500)
    assert "late_fusion/d1/tav" not in ranking.scores.index and "d2" not in "".join(ranking.scores.index)
    notes = " | ".join(ranking.notes)
    assert "cell d1/late_fusion/tav dropped: no finished test_wf1 for arm(s) anti" in notes
    assert "cell d2/late_fusion/tav dropped: no finished test_wf1 for arm(s) random" in notes
    assert "cell d3/late_fusion/tav: seed(s) [1] left out" in notes
    d3 = frame[(frame["dataset"] == "d3") & (frame["seed"] == 0)].set_index("curriculum")["test_wf1"]
    assert ranking.scores.loc["d3/late_fusion/tav", "spcl"] == pytest.approx(d3["spcl"])  # seed 0 only
    assert len(ranking.scores) == 5 and np.isfinite(ranking.friedman_p)


def test_too_few_cells_skip_friedman_with_a_note():
    ranking = rank_arms(_results(n_cells=3), "test_wf1", rng=np.random.default_rng(0), n_samples=500)
    assert np.isnan(ranking.friedman_p) and "needs at least 5 complete cells; got 3" in ranking.notes[-1]
    assert ranking.pairwise["nemenyi_significant"].isna().all() and len(ranking.pairwise) == 6


def _two_arms(diffs: list[float]) -> pd.DataFrame:
    """One seed per cell; spcl = none + diff in each cell."""
    rows = []
    for c, d in enumerate(diffs):
        base = 0.55 + 0.01 * c
        rows += [{"dataset": f"d{c}", "curriculum": "none", "seed": 0, "test_wf1": base},
                 {"dataset": f"d{c}", "curriculum": "spcl", "seed": 0, "test_wf1": base + d}]
    return pd.DataFrame(rows)


EIGHT_CELLS = [0.02, 0.03, 0.015, 0.025, 0.04, 0.035, 0.018, -0.001]  # one small loss: W- = 1


def test_two_arms_get_a_two_sided_wilcoxon_under_its_own_name():
    frame = _two_arms(EIGHT_CELLS)
    ranking = rank_arms(frame, "test_wf1", cells=("dataset",), rng=np.random.default_rng(0), n_samples=500)
    spcl, none = ranking.scores["spcl"].to_numpy(), ranking.scores["none"].to_numpy()
    one_sided = sps.wilcoxon(spcl, none, alternative="greater").pvalue  # what autorank runs for two arms
    assert one_sided == pytest.approx(0.0078125)
    assert ranking.wilcoxon_p == pytest.approx(sps.wilcoxon(spcl, none).pvalue) == pytest.approx(0.015625)
    assert np.isnan(ranking.friedman_p) and ranking.method == "two-sided exact Wilcoxon signed-rank"
    assert ranking.verdict == "spcl vs none: better (p=0.016)"
    fewer = rank_arms(_two_arms(EIGHT_CELLS[:4]), "test_wf1", cells=("dataset",), rng=np.random.default_rng(0))
    assert fewer.verdict == "spcl vs none: cannot reach p<0.05 with 4 cells (min p 0.125)"


def test_two_arms_cd_diagram_names_the_test_not_missing_cells():
    import matplotlib.pyplot as plt

    from spcl_diag.plots.ranking import cd_diagram

    ranking = rank_arms(_two_arms(EIGHT_CELLS), "test_wf1", cells=("dataset",), rng=np.random.default_rng(0),
                        n_samples=500)
    title = cd_diagram(ranking).get_title()
    plt.close("all")
    assert "too few complete cells" not in title and "p=0.016" in title


def test_bayesian_verdicts_need_five_cells_and_name_their_cells():
    two = rank_arms(_two_arms([0.03, 0.04]), "test_wf1", cells=("dataset",), rng=np.random.default_rng(0))
    direct = baycomp.two_on_multiple(two.scores["spcl"].to_numpy(), two.scores["none"].to_numpy(), rope=0.01)
    assert max(direct) > 0.95  # baycomp alone "decides" on two cells: its prior does
    assert two.pairwise[["p_a_better", "p_rope", "p_b_better"]].isna().all().all()
    assert ranking_table(two)["bayesian_verdict"].tolist() == ["not run: 2 cells (needs at least 5)"]
    assert any("Bayesian signed-rank test not run: it needs at least 5 complete cells; got 2" in n for n in two.notes)
    seven = ranking_table(rank_arms(_results(), "test_wf1", rng=np.random.default_rng(0), n_samples=2000))
    verdict = seven.set_index(["arm_a", "arm_b"]).loc[("spcl", "none"), "bayesian_verdict"]
    assert verdict.startswith("spcl better (P=") and verdict.endswith(", 7 cells)")
