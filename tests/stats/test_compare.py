"""compare(): verdicts with 3, 5 and more seeds, directions, pairing, and real tiny runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spcl_diag import RunConfig, compare, load_runs, run
from spcl_diag.cli.main import main
from spcl_diag.stats import dialogue_bootstrap_runs, summarise_epochs

ARMS = ("none", "spcl", "random")
SEEDS = (0, 1, 2)


def _frame(n_seeds: int, shift: float, *, metric: str = "test_wf1", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = rng.normal(0.6, 0.02, n_seeds)
    arm = base + shift + rng.normal(0, 0.002, n_seeds)
    return pd.DataFrame({
        "dataset": "synthetic", "backbone": "late_fusion", "modalities": "tav",
        "curriculum": ["none"] * n_seeds + ["spcl"] * n_seeds, "seed": list(range(n_seeds)) * 2,
        "status": "ok", metric: np.concatenate([base, arm]),
    })


@pytest.mark.parametrize("test", ["wilcoxon", "permutation"])
@pytest.mark.parametrize("n_seeds", [3, 5])
def test_exact_tests_with_few_seeds_never_say_significant(n_seeds: int, test: str) -> None:
    table = compare(_frame(n_seeds, 0.05), "test_wf1", rng=np.random.default_rng(0), test=test)
    row = table.iloc[0]
    min_p = 2 / 2**n_seeds
    assert row["n_seeds"] == n_seeds and row["min_p"] == pytest.approx(min_p)
    assert row["verdict"] == f"cannot reach p<0.05 with {n_seeds} seeds (min p {min_p:.3g})"
    assert row["p"] >= row["min_p"]  # all differences positive: p is at its floor, still > 0.05


def test_t_test_with_3_seeds_can_be_significant() -> None:
    row = compare(_frame(3, 0.05), "test_wf1", rng=np.random.default_rng(0), test="t").iloc[0]
    assert row["min_p"] == 0 and row["verdict"].startswith("better (p_holm=")


def test_enough_seeds_better_and_worse_and_holm_floor() -> None:
    better = compare(_frame(7, 0.05), "test_wf1", rng=np.random.default_rng(0)).iloc[0]
    assert better["verdict"] == f"better (p_holm={better['p_adjusted']:.2g})" and better["p_adjusted"] < 0.05
    worse = compare(_frame(7, -0.05), "test_wf1", rng=np.random.default_rng(0)).iloc[0]
    assert worse["verdict"].startswith("worse") and worse["prob_improvement"] == 0 and worse["aso_eps_min"] > 0.5
    # 6 seeds reach 0.03125 alone, but not after Holm over 2 comparisons (min p_holm 0.0625)
    two = pd.concat([_frame(6, 0.05), _frame(6, 0.05, seed=1).assign(dataset="other")])
    table = compare(two, "test_wf1", rng=np.random.default_rng(0))
    assert (table["n_comparisons"] == 2).all()
    assert table["verdict"].str.startswith("cannot reach p_holm<0.05 with 6 seeds over 2 comparisons").all()
    bh = compare(two, "test_wf1", rng=np.random.default_rng(0), correction="bh")
    assert bh["verdict"].str.startswith("better (p_bh=").all()


def test_lower_is_better_metric_is_inferred() -> None:
    frame = _frame(7, -0.05, metric="test_disparity_ratio_t")  # spcl lowers the disparity
    row = compare(frame, "test_disparity_ratio_t", rng=np.random.default_rng(0)).iloc[0]
    assert not row["higher_is_better"] and row["diff"] < 0
    assert row["verdict"].startswith("better") and row["prob_improvement"] == 1 and row["cliffs_delta"] == -1
    forced = compare(frame, "test_disparity_ratio_t", rng=np.random.default_rng(0), higher_is_better=True).iloc[0]
    assert forced["verdict"].startswith("worse")


def test_pairing_by_seed_and_errors() -> None:
    frame = _frame(5, 0.05)
    frame = frame[~((frame["curriculum"] == "none") & (frame["seed"] == 4))]  # seed 4 only in spcl
    frame = pd.concat([frame, frame.iloc[[0]].assign(status="failed", seed=9)])  # ignored
    row = compare(frame, "test_wf1", rng=np.random.default_rng(0)).iloc[0]
    assert row["n_seeds"] == 4 and row["seeds"] == "0,1,2,3" and row["n_unpaired"] == 1
    assert "paired by seed: left out spcl [4]" in row["note"]
    with pytest.raises(ValueError, match=r"metric 'test_f1' is not a column; did you mean 'test_wf1'\? Metric columns: test_wf1"):
        compare(frame, "test_f1", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="runs share their"):
        compare(pd.concat([frame, frame.iloc[[1]]]), "test_wf1", rng=np.random.default_rng(0))
    missing = compare(frame, "test_wf1", arms=["spcl", "anti"], rng=np.random.default_rng(0))
    assert missing["verdict"].tolist()[1] == "no anti runs in this group" and missing["n_comparisons"].iloc[0] == 1


def test_same_rng_same_table_and_bootstrap_intervals() -> None:
    frame = _frame(5, 0.01)
    first = compare(frame, "test_wf1", rng=np.random.default_rng(1), interval="bca", n_resamples=500)
    second = compare(frame, "test_wf1", rng=np.random.default_rng(1), interval="bca", n_resamples=500)
    pd.testing.assert_frame_equal(first, second)
    assert first["ci_method"].iloc[0] == "bootstrap-bca"


@pytest.fixture
def tiny_runs(tiny_config: RunConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """none/spcl/random x seeds 0-2 of the tiny config, trained once per session."""
    cache = getattr(tiny_runs, "_cache", None)
    if cache is None:
        out = tmp_path_factory.mktemp("runs")
        small = tiny_config.with_overrides({"train.epochs": 2, "data.synthetic.n_dialogues": 12})
        for seed in SEEDS:
            for arm in ARMS:  # random replays the paired spcl run, so spcl comes first
                result = run(small.with_overrides({"curriculum": arm, "seed": seed}), out, device="cpu", progress=False)
                assert result.status == "ok"
        cache = tiny_runs._cache = out  # type: ignore[attr-defined]
    return cache


def test_compare_end_to_end_on_tiny_runs(tiny_runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    tables = load_runs(tiny_runs)
    table = compare(tables, "test_wf1", "none", ["spcl", "random"], rng=np.random.default_rng(0))
    assert table["arm"].tolist() == ["spcl", "random"] and (table["n_seeds"] == 3).all()
    assert (table["n_comparisons"] <= 2).all()
    assert not table["verdict"].str.contains("better|worse").any()  # 3 seeds, exact test
    same = compare(str(tiny_runs), "test_wf1", "none", ["spcl", "random"], rng=np.random.default_rng(0))
    pd.testing.assert_frame_equal(table, same)
    disparity = compare(tables.results, "test_disparity_ratio_t", rng=np.random.default_rng(0))
    assert not disparity["higher_is_better"].any() and set(disparity["arm"]) == {"random", "spcl"}
    # trajectory summaries go through the same function
    summary = summarise_epochs(tables.epochs, "disparity_ratio", scope="t", how="auc")
    traj = compare(summary, "test_disparity_ratio_t_auc", rng=np.random.default_rng(0))
    assert (traj["n_seeds"] == 3).all()
    # dialogue-level bootstrap between two runs of the same seed
    dirs = tables.results.set_index(["curriculum", "seed"])["path"]
    res = dialogue_bootstrap_runs(dirs["spcl", 0], dirs["none", 0], rng=np.random.default_rng(0), n_resamples=200)
    assert res.low <= res.estimate <= res.high
    # the command line
    csv, tex = tmp_path / "cmp.csv", tmp_path / "cmp.tex"
    status = main(["compare", str(tiny_runs), "--metric", "test_wf1", "--arms", "spcl", "random",
                   "--csv", str(csv), "--latex", str(tex)])
    printed = capsys.readouterr().out
    written = pd.read_csv(csv)
    assert status == 0 and written["arm"].tolist() == ["spcl", "random"]
    assert written["verdict"].tolist() == table["verdict"].tolist()
    assert all(verdict in printed for verdict in table["verdict"])
    assert tex.read_text().startswith(r"\begin{table}") and r"\toprule" in tex.read_text()
    assert main(["compare", str(tiny_runs), "--metric", "test_f1"]) == 2


def _paired(a: np.ndarray, b: np.ndarray, *, metric: str = "test_wf1", arm: str = "spcl") -> pd.DataFrame:
    n = len(a)
    return pd.DataFrame({"curriculum": ["none"] * n + [arm] * n, "seed": list(range(n)) * 2,
                         metric: np.concatenate([b, a])})


def test_verdict_follows_the_mean_difference() -> None:
    # item 2: eleven small gains and one large loss; the signed ranks favour the arm
    b = 0.6 + 0.001 * np.arange(12)
    a = b + np.where(np.arange(12) < 11, 0.002, -0.05)
    row = compare(_paired(a, b), "test_wf1", by=(), rng=np.random.default_rng(0)).iloc[0]
    assert row["diff"] == pytest.approx(-0.0023333, abs=1e-6) and row["cohens_dz"] < 0
    assert row["p"] < 0.05 and row["verdict"].startswith("worse (p_holm=")
    assert "points the other way" in row["verdict"] and "favours the arm" in row["note"]


@pytest.mark.parametrize("metric", ["test_unimodal_wf1_spread", "test_unimodal_acc_spread"])
def test_smaller_spread_is_better(metric: str) -> None:
    b = np.linspace(0.20, 0.26, 7)
    row = compare(_paired(b - 0.05, b, metric=metric), metric, by=(), rng=np.random.default_rng(0)).iloc[0]
    assert row["higher_is_better"] is not None and not row["higher_is_better"]
    assert row["verdict"].startswith("better") and row["prob_improvement"] > 0.9 and row["aso_eps_min"] < 0.5


def test_metric_without_a_better_side_reads_higher_or_lower() -> None:
    b = np.linspace(0.20, 0.26, 7)
    row = compare(_paired(b + 0.05, b, metric="test_shapley_wf1_a"), "test_shapley_wf1_a", by=(),
                  rng=np.random.default_rng(0)).iloc[0]
    assert row["higher_is_better"] is None and row["verdict"].startswith("higher (p_holm=")


def test_unknown_metric_direction_is_an_error_that_says_how() -> None:
    b = np.linspace(0.20, 0.26, 7)
    frame = _paired(b + 0.05, b, metric="test_mystery")
    with pytest.raises(ValueError, match=r"higher_is_better=True or False .*--higher-is-better / --lower-is-better"):
        compare(frame, "test_mystery", by=(), rng=np.random.default_rng(0))
    row = compare(frame, "test_mystery", by=(), rng=np.random.default_rng(0), higher_is_better=False).iloc[0]
    assert row["verdict"].startswith("worse")


def test_holm_significant_row_is_never_called_unreachable() -> None:
    # item 4: three strong groups and one at the 6-seed floor 0.03125; Holm passes it last
    rng = np.random.default_rng(0)
    parts = []
    for g in range(4):
        n = 6 if g == 0 else 12
        b = rng.normal(0.6, 0.01, n)
        parts.append(_paired(b + 0.05 + rng.normal(0, 0.001, n), b).assign(dataset=f"d{g}"))
    table = compare(pd.concat(parts), "test_wf1", by=("dataset",), rng=np.random.default_rng(0), test="permutation")
    row = table.iloc[0]
    assert row["p"] == pytest.approx(0.03125) and row["p_adjusted"] == pytest.approx(0.03125)
    assert row["min_p_adjusted"] <= row["p_adjusted"] and row["verdict"].startswith("better")
    assert (table["min_p_adjusted"] <= table["p_adjusted"] + 1e-15).all()


@pytest.mark.parametrize("test", ["wilcoxon", "permutation", "t"])
def test_untested_rows_do_not_enlarge_the_family(test: str) -> None:
    # item 5: a group with one seed and a group with every difference zero are not comparisons
    rng = np.random.default_rng(1)
    b = rng.normal(0.6, 0.01, 8)
    tested = _paired(b + 0.03 + rng.normal(0, 0.003, 8), b).assign(dataset="tested")
    single = _paired(np.array([0.7]), np.array([0.6])).assign(dataset="single")
    same = _paired(b, b.copy()).assign(dataset="same")
    table = compare(pd.concat([tested, single, same]), "test_wf1", by=("dataset",),
                    rng=np.random.default_rng(0), test=test, correction="bonferroni").set_index("dataset")
    assert (table["n_comparisons"] == 1).all()
    assert table.loc["tested", "p_adjusted"] == table.loc["tested", "p"]
    assert np.isnan(table.loc[["single", "same"], "p"]).all()
    assert "left out of the correction family" in table.loc["single", "note"]


def test_sign_flip_floor_in_compare_uses_non_zero_differences() -> None:
    b = np.linspace(0.5, 0.6, 8)
    a = b + np.array([0.01, 0.02, 0.03, 0.04, 0.05, 0.0, 0.0, 0.0])
    row = compare(_paired(a, b), "test_wf1", by=(), rng=np.random.default_rng(0), test="permutation").iloc[0]
    assert row["min_p"] == 2 / 2**5
    assert row["verdict"] == f"cannot reach p<0.05 with 5 non-tied of 8 seeds (min p {2 / 2**5:.3g})"


def test_confidence_level_reaches_every_interval_and_aso() -> None:
    rng = np.random.default_rng(2)
    b = rng.normal(0.6, 0.02, 8)
    frame = _paired(b + 0.01 + rng.normal(0, 0.01, 8), b)
    wide, narrow = (compare(frame, "test_wf1", by=(), rng=np.random.default_rng(0), confidence_level=level).iloc[0]
                    for level in (0.95, 0.8))
    assert narrow["diff_high"] - narrow["diff_low"] < wide["diff_high"] - wide["diff_low"]
    assert narrow["ci_high"] - narrow["ci_low"] < wide["ci_high"] - wide["ci_low"]
    assert narrow["aso_eps_min"] < wide["aso_eps_min"]


def test_bad_baseline_and_all_nan_metric_are_errors() -> None:
    frame = _frame(5, 0.05)
    with pytest.raises(ValueError, match=r"baseline 'base' .* arms present: none, spcl"):
        compare(frame, "test_wf1", baseline="base", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="metric 'test_wf1' has no value in any run"):
        compare(frame.assign(test_wf1=np.nan), "test_wf1", rng=np.random.default_rng(0))


def test_bootstrap_interval_with_few_seeds_says_it_under_covers() -> None:
    row = compare(_frame(5, 0.01), "test_wf1", rng=np.random.default_rng(1), interval="percentile",
                  n_resamples=200).iloc[0]
    assert "bootstrap-percentile intervals under-cover with 5 seeds (measured coverage" in row["note"]
    assert "under-cover" not in compare(_frame(5, 0.01), "test_wf1", rng=np.random.default_rng(1)).iloc[0]["note"]


@pytest.mark.parametrize("test", ["wilcoxon", "permutation", "t"])
def test_constant_differences_are_explained_the_same_way(test: str) -> None:
    b = np.array([.6101, .7034, .5212, .6645, .8017, .9061])
    row = compare(_paired(np.round(b + 0.0023, 4), b), "test_wf1", by=(), rng=np.random.default_rng(0),
                  test=test).iloc[0]
    assert row["cohens_dz"] == np.inf and row["diff_low"] == pytest.approx(row["diff_high"])
    assert "the difference is +0.0023 on every seed: the paired t test is undefined (sd 0)" in row["note"]
    if test == "t":
        assert np.isnan(row["p"]) and row["verdict"].startswith("test undefined")
    else:
        assert row["p"] == pytest.approx(0.03125) and row["verdict"].startswith("better")


def _two_arm_frame(diffs: dict[str, np.ndarray], base: np.ndarray) -> pd.DataFrame:
    rows = []
    for dataset, diff in diffs.items():
        for arm, values in (("none", base), ("spcl", base + diff)):
            rows += [{"dataset": dataset, "curriculum": arm, "seed": s, "test_wf1": v} for s, v in enumerate(values)]
    return pd.DataFrame(rows)


def test_interval_and_test_that_disagree_are_flagged_with_the_hodges_lehmann_shift() -> None:
    """Issue 25 item 6: +0.01 on eleven seeds, -0.08 on one: Wilcoxon p 0.033, t interval [-0.014, 0.019]."""
    base = 0.6 + np.random.default_rng(0).normal(0, 0.01, 12)
    frame = _two_arm_frame({"synthetic": np.array([0.01] * 11 + [-0.08])}, base)
    row = compare(frame, "test_wf1", by=(), rng=np.random.default_rng(0)).iloc[0]
    assert row["p_adjusted"] == pytest.approx(0.0332, abs=1e-4)
    assert (row["diff_low"], row["diff_high"]) == pytest.approx((-0.0140, 0.0190), abs=1e-4)  # covers 0
    assert (row["hl_shift"], row["hl_low"], row["hl_high"]) == pytest.approx((0.01, 0.01, 0.01))
    assert row["interval_disagrees"]
    assert row["verdict"] == "better (p_holm=0.033; interval and test disagree, see note)"
    assert "Hodges-Lehmann shift +0.01 [+0.01, +0.01] against a mean of +0.0025" in row["note"]
    assert "rejects at the 5% level (raw p=0.033) while the 95% t interval" in row["note"]
    # the paired t test and the t interval are dual: they never disagree, and there is no shift
    t_row = compare(frame, "test_wf1", by=(), rng=np.random.default_rng(0), test="t").iloc[0]
    assert not t_row["interval_disagrees"] and np.isnan(t_row["hl_shift"]) and "disagree" not in t_row["verdict"]
    assert t_row["p"] == pytest.approx(0.745, abs=1e-3)


def test_a_clear_gain_agrees_and_few_seeds_never_disagree() -> None:
    row = compare(_frame(10, 0.05), "test_wf1", rng=np.random.default_rng(0)).iloc[0]
    assert not row["interval_disagrees"] and row["hl_low"] <= row["hl_shift"] <= row["hl_high"]
    few = compare(_frame(3, 0.05), "test_wf1", rng=np.random.default_rng(0)).iloc[0]  # cannot reach 0.05 at all
    assert not few["interval_disagrees"] and few["diff_low"] > 0


def test_constant_difference_under_the_t_test_stays_in_the_holm_family() -> None:
    """Issue 25 item 7: the other row's p_holm is 0.0049 (2 x 0.00245), not 0.0025."""
    d = np.array([0.002485, 0.006958, 0.009194, 0.01143, 0.013666, 0.01143])
    base = np.array([0.60, 0.61, 0.62, 0.59, 0.605, 0.615])
    frame = _two_arm_frame({"a": np.full(6, 0.01), "b": d}, base)
    for test in ("t", "wilcoxon", "permutation"):
        table = compare(frame, "test_wf1", by=("dataset",), test=test, rng=np.random.default_rng(0)).set_index("dataset")
        assert (table["n_comparisons"] == 2).all(), test
    table = compare(frame, "test_wf1", by=("dataset",), test="t", rng=np.random.default_rng(0)).set_index("dataset")
    assert np.isnan(table.loc["a", "p"]) and table.loc["b", "p"] == pytest.approx(0.00245, rel=1e-3)
    assert table.loc["b", "p_adjusted"] == pytest.approx(2 * table.loc["b", "p"]) == pytest.approx(0.0049, abs=1e-4)
    assert table.loc["b", "verdict"] == "better (p_holm=0.0049)"
    assert table.loc["a", "verdict"].startswith("test undefined: the difference is the same on every seed (counted")


def test_a_groups_numbers_do_not_depend_on_the_other_groups() -> None:
    """Issue 25 item 9: identical data in two groups gave ASO 0.739 and 0.737; a group alone or with others."""
    one = _frame(6, 0.01)
    other = _frame(6, 0.01).assign(dataset="other")
    more = pd.concat([other, _frame(6, -0.02, seed=4).assign(dataset="zzz"), one])
    kwargs = {"test": "permutation", "interval": "bca", "n_resamples": 500}
    alone = compare(one, "test_wf1", rng=np.random.default_rng(0), **kwargs).iloc[0]
    together = compare(more, "test_wf1", rng=np.random.default_rng(0), **kwargs).set_index("dataset").loc["synthetic"]
    for column in ("aso_eps_min", "ci_low", "ci_high", "diff_low", "diff_high", "p"):
        assert alone[column] == together[column], column
