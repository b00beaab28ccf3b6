"""Seed planning against statsmodels' TTestPower."""

from __future__ import annotations

import numpy as np
from statsmodels.stats.power import TTestPower

from spcl_diag.stats import min_attainable_pvalue, min_seeds, plan_seeds


def test_t_plan_reaches_power_and_one_fewer_does_not() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(0.62, 0.02, 4)
    b = a - rng.normal(0.01, 0.01, 4)
    plan = plan_seeds(a, b, test="t")
    power = TTestPower()
    assert power.power(effect_size=plan.effect_size, nobs=plan.n_power, alpha=0.05) >= 0.8
    if plan.n_power > 2:
        assert power.power(effect_size=plan.effect_size, nobs=plan.n_power - 1, alpha=0.05) < 0.8


def test_exact_tests_respect_min_attainable_p() -> None:
    a, b = np.array([0.9, 0.95, 0.92]), np.array([0.1, 0.12, 0.11])  # huge effect: power needs 2-3
    plan = plan_seeds(a, b, test="wilcoxon")
    assert plan.n_power <= 3 and plan.n_seeds == plan.n_min_p == 6
    assert min_attainable_pvalue("wilcoxon", plan.n_seeds) <= 0.05 < min_attainable_pvalue("wilcoxon", plan.n_seeds - 1)
    holm4 = plan_seeds(a, b, test="wilcoxon", n_comparisons=4)
    assert holm4.alpha_effective == 0.0125 and holm4.n_seeds == 8 == min_seeds("wilcoxon", n_comparisons=4)


def test_zero_effect_has_no_finite_plan() -> None:
    plan = plan_seeds([0.5, 0.6, 0.7], [0.4, 0.7, 0.7])
    assert plan.n_seeds is None and plan.n_min_p == 6
