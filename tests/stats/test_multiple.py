"""Multiple-comparison corrections against statsmodels' multipletests."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from spcl_diag.stats import adjust_pvalues, min_adjusted_pvalue
from spcl_diag.stats.multiple import attainable_adjusted_pvalues


@pytest.mark.parametrize("ours,theirs", [("holm", "holm"), ("bh", "fdr_bh"), ("bonferroni", "bonferroni")])
def test_adjust_matches_multipletests(ours: str, theirs: str) -> None:
    p = np.random.default_rng(0).uniform(0, 0.2, 9)
    res = adjust_pvalues(p, method=ours)
    ref = multipletests(p, alpha=0.05, method=theirs)
    np.testing.assert_allclose(res.pvalues_adjusted, ref[1], rtol=1e-12)
    np.testing.assert_array_equal(res.reject, ref[0])
    assert res.n_comparisons == 9


def test_nan_left_out_of_family() -> None:
    res = adjust_pvalues([0.01, np.nan, 0.04], method="holm")
    np.testing.assert_allclose(res.pvalues_adjusted, [0.02, np.nan, 0.04])
    assert res.n_comparisons == 2 and not res.reject[1]


def test_min_adjusted_pvalue_is_attained() -> None:
    k, p_min = 4, 1 / 32
    holm = adjust_pvalues([p_min] * k, method="holm").pvalues_adjusted
    bh = adjust_pvalues([p_min] * k, method="bh").pvalues_adjusted
    assert holm.min() == pytest.approx(min_adjusted_pvalue(p_min, k, method="holm"))
    assert bh.min() == pytest.approx(min_adjusted_pvalue(p_min, k, method="bh"))


def test_errors() -> None:
    with pytest.raises(ValueError, match="correction must be one of"):
        adjust_pvalues([0.1], method="sidak")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        adjust_pvalues([1.5])


@pytest.mark.parametrize("ours,theirs", [("holm", "holm"), ("bh", "fdr_bh"), ("bonferroni", "bonferroni")])
def test_own_corrections_agree_with_statsmodels_to_1e12_with_ties_and_sizes(
    ours: str, theirs: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    monkeypatch.setattr(gc, "collect", lambda *args: 0)  # statsmodels' per-call collection: slow, no effect on p
    rng = np.random.default_rng(3)
    for k in (1, 2, 5, 17, 60):
        for p in (rng.uniform(0, 1, k), np.round(rng.uniform(0, 0.1, k), 2), rng.uniform(0, 1e-4, k)):
            ref = multipletests(p, alpha=0.05, method=theirs)[1]
            np.testing.assert_allclose(adjust_pvalues(p, method=ours).pvalues_adjusted, ref, rtol=1e-12, atol=1e-15)


def test_corrections_do_not_collect_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    def refuse() -> int:
        raise AssertionError("gc.collect called")

    monkeypatch.setattr(gc, "collect", refuse)
    for method in ("holm", "bh", "bonferroni"):
        adjust_pvalues([0.01, 0.02, 0.5], method=method)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["holm", "bh", "bonferroni", "none"])
def test_attainable_minimum_is_the_same_step_down(method: str) -> None:
    rng = np.random.default_rng(4)
    for _ in range(50):
        p = rng.uniform(0, 0.1, 6)
        floor = p * rng.uniform(0, 1, 6)
        p[rng.integers(0, 6)] = np.nan  # untested rows stay out of the family
        attainable = attainable_adjusted_pvalues(p, floor, method=method)
        adjusted = adjust_pvalues(p, method=method).pvalues_adjusted
        assert np.array_equal(np.isnan(attainable), np.isnan(p))
        assert np.all(attainable[np.isfinite(p)] <= adjusted[np.isfinite(p)] + 1e-15)
        for i in np.flatnonzero(np.isfinite(p)):  # brute force: the family with p_i at its floor
            replaced = p.copy()
            replaced[i] = floor[i]
            assert attainable[i] == pytest.approx(adjust_pvalues(replaced, method=method).pvalues_adjusted[i], abs=1e-15)


def test_holm_row_significant_is_never_unreachable() -> None:
    # item 4: the row at 0.03125 (the floor of 6 seeds) is significant under Holm over 4,
    # because it is the largest p-value; k * p_min = 0.125 would call it unreachable
    p = np.array([0.001, 0.03125, 0.002, 0.004])
    assert adjust_pvalues(p, method="holm").pvalues_adjusted[1] == pytest.approx(0.03125)
    assert attainable_adjusted_pvalues(p, [0.0, 0.03125, 0.0, 0.0], method="holm")[1] == pytest.approx(0.03125)


@pytest.mark.parametrize(("ours", "theirs"), [("holm", "holm"), ("bh", "fdr_bh"), ("bonferroni", "bonferroni")])
def test_undefined_members_count_with_p_one(ours: str, theirs: str) -> None:
    """Issue 25 item 7: a member whose test ran without a p-value enlarges the family at p = 1."""
    p = np.array([0.00245, np.nan, 0.03, 0.2])
    res = adjust_pvalues(p, method=ours, n_undefined=2)
    ref = multipletests([0.00245, 0.03, 0.2, 1.0, 1.0], method=theirs)[1][:3]
    np.testing.assert_allclose(res.pvalues_adjusted[[0, 2, 3]], ref, rtol=1e-12)
    assert np.isnan(res.pvalues_adjusted[1]) and res.n_comparisons == 5
    floors = attainable_adjusted_pvalues(p, [0.0, np.nan, 0.0, 0.0], method=ours, n_undefined=2)
    family = np.array([0.0, 0.03, 0.2, 1.0, 1.0])
    assert floors[0] == pytest.approx(multipletests(family, method=theirs)[1][0], abs=1e-12)
    assert adjust_pvalues([0.00245], n_undefined=1).pvalues_adjusted[0] == pytest.approx(0.0049)
    with pytest.raises(ValueError, match="n_undefined"):
        adjust_pvalues(p, n_undefined=-1)
