"""Seed planning against statsmodels' TTestPower."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.power import TTestPower

from spcl_diag.stats import min_attainable_pvalue, min_seeds, plan_seeds, wilcoxon_exact
from spcl_diag.stats.power import wilcoxon_power


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
    assert plan_seeds(a, b, test="t").n_power <= 3
    plan = plan_seeds(a, b, test="wilcoxon")  # the exact test has no power below 6 seeds
    assert plan.n_power == plan.n_seeds == plan.n_min_p == 6
    assert min_attainable_pvalue("wilcoxon", plan.n_seeds) <= 0.05 < min_attainable_pvalue("wilcoxon", plan.n_seeds - 1)
    holm4 = plan_seeds(a, b, test="wilcoxon", n_comparisons=4)
    assert holm4.alpha_effective == 0.0125 and holm4.n_seeds == 8 == min_seeds("wilcoxon", n_comparisons=4)


def test_zero_effect_has_no_finite_plan() -> None:
    plan = plan_seeds([0.5, 0.6, 0.7], [0.4, 0.7, 0.7])
    assert plan.n_seeds is None and plan.n_min_p == 6


def _pilot(effect: float) -> tuple[np.ndarray, np.ndarray]:
    """Pilot differences with Cohen's d_z exactly ``effect``."""
    z = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    return effect + z / z.std(ddof=1), np.zeros(5)


def test_wilcoxon_power_counts_the_rejections_of_the_exact_test() -> None:
    n, effect, sims = 7, 1.0, 300
    power = wilcoxon_power(n, effect, rng=np.random.default_rng(5), n_simulations=sims)
    d = np.random.default_rng(5).normal(effect, 1.0, (sims, n))
    rejections = sum(wilcoxon_exact(row, np.zeros(n)).pvalue <= 0.05 for row in d)
    assert power == rejections / sims


@pytest.mark.parametrize("effect", [0.8, 1.2, 1.35, 1.5])
def test_wilcoxon_plan_reaches_the_power_of_the_exact_test(effect: float) -> None:
    a, b = _pilot(effect)
    plan = plan_seeds(a, b, test="wilcoxon")
    assert plan.effect_size == pytest.approx(effect)
    check = np.random.default_rng(99)  # not the plan's seed
    assert wilcoxon_power(plan.n_power, effect, rng=check, n_simulations=40_000) >= 0.8 - 0.01
    if plan.n_power - 1 >= plan.n_min_p:  # and it is the fewest such seeds
        assert wilcoxon_power(plan.n_power - 1, effect, rng=check, n_simulations=40_000) < 0.8 + 0.01
