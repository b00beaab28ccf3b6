"""Error rates of the verdicts of interaction, reproduce and rank_arms, and coverage of the aggregates.

Simulated with numpy (vectorised over experiments), each rate cross-checked against the
public function on the first experiments of its cell:

* **interaction**: type-I error under the null (every group's contrast has mean 0, normal
  per-seed contrasts), per group and family-wise over G groups, without correction and with
  Holm over the groups (``interaction``'s default), paired t test (its default);
* **reproduce**: the false-alarm rate for a perfect reproduction (the published value is one
  run, or the mean of 5 runs, drawn from our seeds' own distribution) with the old rule (the
  published value outside the 95 % t interval of our mean) and the prediction interval that
  :func:`spcl_diag.reproduce` uses, at 3, 5, 10 and 20 seeds;
* **rank_arms with two arms**: type-I error over N null cells of autorank's one-sided Wilcoxon
  test whose side is the arm with the larger median (what ``friedman_p`` held before) and of
  the two-sided exact Wilcoxon test ``rank_arms`` runs now;
* **aggregates**: coverage of the 95 % stratified-bootstrap interval of the IQM
  (``stratified_bootstrap_ci(aggregate="iqm")``) and of the average probability of improvement
  (``average_probability_of_improvement``) over 5 tasks at 3, 5 and 10 seeds.

Writes ``figures/verdict_calibration.csv`` and ``.md``. About a minute on one core::

    python analyses/verdict_calibration.py --reps 4000 --coverage-reps 1000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from spcl_diag import reproduce
from spcl_diag.stats import (
    adjust_pvalues,
    interaction,
    interquartile_mean,
    stratified_bootstrap_ci,
    wilcoxon_exact,
)
from spcl_diag.stats.aggregate import average_probability_of_improvement

SEEDS = (3, 5, 10, 20)
GROUPS = (1, 5, 10)
CELLS = (6, 8, 12, 20)
COVERAGE_SEEDS = (3, 5, 10)
TASKS = 5
ALPHA = 0.05


def interaction_type_one(rng: np.random.Generator, reps: int) -> list[dict]:
    rows = []
    for n in (5, 10):
        for groups in GROUPS:
            delta = rng.normal(0.0, 0.01, (reps, groups, n))  # per-seed contrasts, true interaction 0
            p = sps.ttest_1samp(delta, 0.0, axis=-1).pvalue  # [reps, groups]
            holm = np.array([adjust_pvalues(row, method="holm").pvalues_adjusted for row in p])
            _check_interaction(delta[:20], holm[:20])
            rows += [
                {"statistic": "interaction", "quantity": "type-I per group", "setting": f"{groups} groups, no correction",
                 "n": n, "value": float((p < ALPHA).mean())},
                {"statistic": "interaction", "quantity": "family-wise type-I", "setting": f"{groups} groups, no correction",
                 "n": n, "value": float((p < ALPHA).any(axis=1).mean())},
                {"statistic": "interaction", "quantity": "family-wise type-I", "setting": f"{groups} groups, Holm",
                 "n": n, "value": float((holm < ALPHA).any(axis=1).mean())},
            ]
    return rows


def _check_interaction(delta: np.ndarray, holm: np.ndarray) -> None:
    """interaction() on the same contrasts gives the same Holm-adjusted p-values."""
    for study, expected in zip(delta, holm):
        rows = [{"group": g, "curriculum": c, "balancing": b, "seed": s,
                 "y": 0.6 + (d if (c, b) == ("spcl", "ogm-ge") else 0.0)}
                for g, contrasts in enumerate(study) for s, d in enumerate(contrasts)
                for c in ("none", "spcl") for b in ("none", "ogm-ge")]
        table = interaction(pd.DataFrame(rows), "y", by=("group",), rng=np.random.default_rng(0))
        np.testing.assert_allclose(table["p_adjusted"], expected, rtol=1e-6)


def reproduce_false_alarm(rng: np.random.Generator, reps: int) -> list[dict]:
    rows = []
    for k in (1, 5):
        for n in SEEDS:
            x = rng.normal(0.60, 0.01, (reps, n))
            v = rng.normal(0.60, 0.01, (reps, k)).mean(axis=1)  # a perfect reproduction, published as k runs
            mean, s = x.mean(axis=1), x.std(axis=1, ddof=1)
            q = sps.t.ppf(1 - ALPHA / 2, n - 1)
            outside_ci = np.abs(mean - v) > q * s / np.sqrt(n)
            outside_pi = np.abs(mean - v) > q * s * np.sqrt(1 / n + 1 / k)
            _check_reproduce(x[:200], v[:200], k, outside_pi[:200])
            runs = "one published run" if k == 1 else f"published mean of {k} runs"
            rows += [
                {"statistic": "reproduce", "quantity": "false alarm", "setting": f"{runs}, old rule (CI of our mean)",
                 "n": n, "value": float(outside_ci.mean())},
                {"statistic": "reproduce", "quantity": "false alarm", "setting": f"{runs}, prediction interval",
                 "n": n, "value": float(outside_pi.mean())},
            ]
    return rows


def _check_reproduce(x: np.ndarray, v: np.ndarray, k: int, outside: np.ndarray) -> None:
    """reproduce() on the same cells flags the same ones (uncorrected, one cell per backbone)."""
    runs = pd.DataFrame([{"dataset": "D", "backbone": f"b{c}", "modalities": "tav", "curriculum": "none", "seed": s,
                          "status": "ok", "test_wf1": value} for c, row in enumerate(x) for s, value in enumerate(row)])
    table = pd.DataFrame({"backbone": [f"b{c}" for c in range(len(x))], "dataset": "D", "modalities": "tav",
                          "arm": "none", "metric": "test_wf1", "value": 100 * v, "source": "simulated", "n_runs": k})
    flagged = ~reproduce(runs, table, correction="none")["inside"].astype(bool).to_numpy()
    assert (flagged == outside).all(), "reproduce() disagrees with the vectorised prediction interval"


def rank_two_arms(rng: np.random.Generator, reps: int) -> list[dict]:
    rows = []
    for cells in CELLS:
        a, b = rng.normal(0.6, 0.01, (reps, cells)), rng.normal(0.6, 0.01, (reps, cells))
        larger = np.median(a, axis=1) >= np.median(b, axis=1)
        hi, lo = np.where(larger[:, None], a, b), np.where(larger[:, None], b, a)
        one_sided = sps.wilcoxon(hi, lo, alternative="greater", axis=1).pvalue  # autorank's rank_two
        two_sided = sps.wilcoxon(a, b, axis=1).pvalue
        for i in range(10):
            assert np.isclose(two_sided[i], wilcoxon_exact(a[i], b[i]).pvalue)
        rows += [
            {"statistic": "rank_arms (two arms)", "quantity": "type-I", "setting": "old: one-sided, side from the data",
             "n": cells, "value": float((one_sided < ALPHA).mean())},
            {"statistic": "rank_arms (two arms)", "quantity": "type-I", "setting": "two-sided exact Wilcoxon",
             "n": cells, "value": float((two_sided < ALPHA).mean())},
        ]
    return rows


def aggregate_coverage(rng: np.random.Generator, reps: int, resamples: int) -> list[dict]:
    offsets = np.linspace(-0.05, 0.05, TASKS)  # task difficulty; seed sd 0.01; arm A better by 0.005
    pooled = (offsets[:, None] + rng.normal(0.0, 0.01, (TASKS, 400_000))).ravel()
    true_iqm = float(interquartile_mean(pooled, axis=None)) + 0.6
    true_poi = float(sps.norm.cdf(0.005 / (0.01 * np.sqrt(2))))
    rows = []
    for n in COVERAGE_SEEDS:
        hits_iqm = hits_poi = 0
        for _ in range(reps):
            a = 0.6 + offsets[:, None] + rng.normal(0.0, 0.01, (TASKS, n))
            b = 0.6 - 0.005 + offsets[:, None] + rng.normal(0.0, 0.01, (TASKS, n))
            iqm = stratified_bootstrap_ci({f"t{t}": a[t] for t in range(TASKS)}, aggregate="iqm", rng=rng,
                                          n_resamples=resamples)
            poi = average_probability_of_improvement({f"t{t}": a[t] for t in range(TASKS)},
                                                     {f"t{t}": b[t] for t in range(TASKS)}, rng=rng,
                                                     n_resamples=resamples)
            hits_iqm += iqm.contains(true_iqm)
            hits_poi += poi.contains(true_poi)
        rows += [
            {"statistic": "IQM (stratified bootstrap)", "quantity": "coverage of 95%", "setting": f"{TASKS} tasks",
             "n": n, "value": hits_iqm / reps},
            {"statistic": "probability of improvement (average)", "quantity": "coverage of 95%",
             "setting": f"{TASKS} tasks", "n": n, "value": hits_poi / reps},
        ]
    return rows


def markdown(table: pd.DataFrame) -> str:
    lines = []
    for (statistic, quantity), part in table.groupby(["statistic", "quantity"], sort=False):
        wide = part.pivot_table(index="setting", columns="n", values="value", sort=False)
        unit = "cells" if statistic.startswith("rank") else "seeds"
        lines += [f"**{statistic}: {quantity}**", "",
                  "| setting | " + " | ".join(f"{n} {unit}" for n in wide.columns) + " |",
                  "|" + "---|" * (len(wide.columns) + 1)]
        lines += [f"| {setting} | " + " | ".join("" if np.isnan(v) else f"{v:.3f}" for v in values) + " |"
                  for setting, values in wide.iterrows()]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4000, help="simulated studies per cell (default: %(default)s)")
    parser.add_argument("--coverage-reps", type=int, default=1000,
                        help="simulated studies per cell of the aggregate coverage (default: %(default)s)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation (default: %(default)s)")
    parser.add_argument("--figures", type=Path, default=Path(__file__).resolve().parent.parent / "figures")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    table = pd.DataFrame(interaction_type_one(rng, args.reps) + reproduce_false_alarm(rng, args.reps)
                         + rank_two_arms(rng, args.reps) + aggregate_coverage(rng, args.coverage_reps, args.resamples))
    args.figures.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.figures / "verdict_calibration.csv", index=False)
    text = markdown(table)
    (args.figures / "verdict_calibration.md").write_text(
        f"Measured by `python analyses/verdict_calibration.py --reps {args.reps} --coverage-reps {args.coverage_reps} "
        f"--resamples {args.resamples} --seed {args.seed}`.\n\n{text}"
    )
    print(text)


if __name__ == "__main__":
    main()
