"""Multiple-comparison corrections against statsmodels' multipletests."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from spcl_diag.stats import adjust_pvalues, min_adjusted_pvalue


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
