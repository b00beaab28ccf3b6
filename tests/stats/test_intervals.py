"""Student-t interval against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from spcl_diag.stats import t_interval


@pytest.mark.parametrize("level", [0.8, 0.95, 0.99])
def test_t_interval_matches_scipy(level: float) -> None:
    x = np.random.default_rng(3).normal(0.6, 0.02, 5)
    ours = t_interval(x, confidence_level=level)
    ref = sps.ttest_1samp(x, 0.0).confidence_interval(confidence_level=level)
    np.testing.assert_allclose([ours.low, ours.high], [ref.low, ref.high], rtol=1e-12)
    assert ours.contains(ours.estimate) and ours.method == "student-t" and ours.n == 5


def test_t_interval_degenerate_and_errors() -> None:
    with pytest.warns(RuntimeWarning, match="at least 2 values"):
        res = t_interval([0.5])
    assert np.isnan(res.low) and res.estimate == 0.5
    with pytest.raises(ValueError, match=r"confidence_level must lie in \(0, 1\); got 95"):
        t_interval([1.0, 2.0], confidence_level=95)
