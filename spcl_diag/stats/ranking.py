r"""Rank arms over many cells: Friedman with Nemenyi, and the Bayesian signed-rank test.

A *cell* is one (backbone, dataset, modality set); its score for an arm is the arm's mean
metric over the seeds that every arm of the cell finished. :func:`rank_arms` ranks the arms
within each cell and compares the mean ranks over cells with the Friedman test and the
Nemenyi critical difference (Demšar 2006), computed by ``autorank`` [3]_, and compares every
pair of arms with the Bayesian signed-rank test with a region of practical equivalence
(Benavoli et al. 2017), computed by ``baycomp`` [4]_. Both come with the ``ranking`` extra
(``pip install spcl_diag[ranking]``).

With two arms there is no Friedman test (autorank would run a one-sided Wilcoxon test whose
side it picks from the data): :func:`rank_arms` runs the two-sided exact Wilcoxon signed-rank
test of the cell scores itself (:func:`~spcl_diag.stats.paired_tests.wilcoxon_exact`) and
reports it as ``wilcoxon_p``. Neither Friedman nor the Bayesian signed-rank test runs on fewer
than :data:`MIN_FRIEDMAN_CELLS` complete cells: with two cells baycomp's prior alone decides
("practically equivalent" at P = 1.0).

Cells where an arm has no finished run are dropped, and the result's ``notes`` name each
one; seeds that not every arm of a cell finished are left out of that cell, also named.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from spcl_diag.stats._common import check_rng
from spcl_diag.stats.comparison import check_seed_roles, infer_higher_is_better, results_frame
from spcl_diag.stats.paired_tests import wilcoxon_exact
from spcl_diag.stats.verdict import verdict

MIN_FRIEDMAN_CELLS = 5  # autorank refuses fewer performance estimates (rows)
#: The Bayesian signed-rank test gets the same floor: on fewer cells its prior decides.
MIN_BAYESIAN_CELLS = MIN_FRIEDMAN_CELLS
BAYESIAN_DECIDED = 0.95  # a posterior probability above this decides a pair (Benavoli et al. 2017)


@dataclass(frozen=True)
class Ranking:
    """Arms ranked over cells.

    Attributes
    ----------
    scores
        ``[cells, arms]`` frame: the cell score of each arm (mean over the paired seeds),
        indexed by the cell columns joined with ``/``.
    mean_ranks
        Arm -> mean rank over cells (1 = best), best first.
    friedman_p
        p-value of the Friedman test (``nan`` with fewer than :data:`MIN_FRIEDMAN_CELLS`
        cells or two arms).
    wilcoxon_p
        Two arms only (else ``nan``): p-value of the two-sided exact Wilcoxon signed-rank
        test of the cell scores, the better-ranked arm against the other.
    critical_difference
        Nemenyi critical difference of the mean ranks at ``alpha``.
    method
        The tests that ran: ``"friedman + nemenyi"`` (autorank), ``"two-sided exact Wilcoxon
        signed-rank"`` (two arms) or ``"not run"``.
    verdict
        The omnibus verdict in :func:`~spcl_diag.stats.comparison.compare`'s words, e.g.
        ``"spcl vs none: better (p=0.016)"`` or ``"not tested: 3 complete cells (Friedman
        needs at least 5)"``.
    pairwise
        One row per pair of arms: ``arm_a, arm_b, rank_diff, nemenyi_significant,
        p_a_better, p_rope, p_b_better`` (Bayesian signed-rank with ``rope``; ``nan`` below
        :data:`MIN_BAYESIAN_CELLS` cells).
    alpha, rope, higher_is_better
        The settings.
    notes
        Cells dropped and seeds left out, each named.
    """

    scores: pd.DataFrame
    mean_ranks: pd.Series
    friedman_p: float
    wilcoxon_p: float
    critical_difference: float
    method: str
    verdict: str
    pairwise: pd.DataFrame
    alpha: float
    rope: float
    higher_is_better: bool
    notes: tuple[str, ...] = field(default=())


def cell_scores(
    results: pd.DataFrame, metric: str, *, cells: Sequence[str], arm_column: str, arms: Sequence[str] | None = None,
    pair_on: str = "seed",
) -> tuple[pd.DataFrame, list[str]]:
    """``[cells, arms]`` mean scores over the seeds every arm of the cell finished, and notes.

    A cell is dropped when an arm has no finished run with a value there; a seed is left
    out of a cell when some arm lacks it. Each is named in the notes.
    """
    frame = results
    if "status" in frame.columns:
        frame = frame[frame["status"].astype(str) == "ok"]
    frame = frame[pd.to_numeric(frame[metric], errors="coerce").notna()]
    wanted = sorted(set(results[arm_column].astype(str))) if arms is None else list(arms)
    rows, notes = {}, []
    for key, group in results.groupby(list(cells), sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        name = "/".join(map(str, key))
        done = frame.loc[frame.index.intersection(group.index)]
        seeds = {arm: set(done.loc[done[arm_column].astype(str) == arm, pair_on]) for arm in wanted}
        empty = [arm for arm in wanted if not seeds[arm]]
        if empty:
            notes.append(f"cell {name} dropped: no finished {metric} for arm(s) {', '.join(empty)}")
            continue
        common = set.intersection(*seeds.values())
        if not common:
            notes.append(f"cell {name} dropped: no seed finished by every arm")
            continue
        left = sorted(set.union(*seeds.values()) - common)
        if left:
            notes.append(f"cell {name}: seed(s) {left} left out (not finished by every arm)")
        paired = done[done[pair_on].isin(common)]
        rows[name] = {arm: float(pd.to_numeric(paired.loc[paired[arm_column].astype(str) == arm, metric]).mean())
                      for arm in wanted}
    return pd.DataFrame.from_dict(rows, orient="index", columns=wanted), notes


def rank_arms(
    runs: Any,
    metric: str,
    *,
    rng: np.random.Generator,
    cells: Sequence[str] = ("dataset", "backbone", "modalities"),
    arms: Sequence[str] | None = None,
    arm_column: str = "curriculum",
    alpha: float = 0.05,
    rope: float = 0.01,
    higher_is_better: bool | None = None,
    n_samples: int = 20_000,
) -> Ranking:
    r"""Rank arms across cells (Friedman + Nemenyi via autorank; Bayesian signed-rank via baycomp).

    Parameters
    ----------
    runs
        :class:`~spcl_diag.runs.loading.RunTables`, a results frame or a folder of runs.
    metric
        The column to rank on (``test_wf1``).
    rng
        Seeds baycomp's Monte Carlo sampling (one child per pair).
    cells
        Columns that define a cell; each cell is one block of the Friedman test.
    arms
        Arms to rank (default: every value of ``arm_column``).
    arm_column
        Column naming the arms.
    alpha
        Level of the Friedman test and the Nemenyi critical difference.
    rope
        Half-width of the region of practical equivalence, in the metric's units (0.01 = one
        point of weighted-F1).
    higher_is_better
        Direction; ``None`` infers it from the metric name.
    n_samples
        Posterior samples of the Bayesian signed-rank test.

    Returns
    -------
    Ranking

    Notes
    -----
    In each cell the arms get ranks :math:`r_{ij}` (1 = best, ties averaged); with
    :math:`N` cells and :math:`k` arms the Friedman statistic is
    :math:`\chi^2_F = \frac{12N}{k(k+1)}\big(\sum_j \bar R_j^2 - \frac{k(k+1)^2}{4}\big)`
    and two arms differ (Nemenyi) when their mean ranks differ by more than
    :math:`CD = q_\alpha \sqrt{k(k+1)/(6N)}`, :math:`q_\alpha` the studentised range
    quantile over :math:`\sqrt 2`. The Bayesian signed-rank test puts a Dirichlet process
    prior on the distribution of the per-cell differences and returns the posterior
    probabilities that one arm is better by more than ``rope``, that they are practically
    equivalent, or that the other is better.

    References
    ----------
    .. [1] Demšar, J. (2006), Statistical comparisons of classifiers over multiple data
       sets. JMLR 7.
    .. [2] Benavoli, A., Corani, G., Demšar, J., Zaffalon, M. (2017), Time for a change: a
       tutorial for comparing multiple classifiers through Bayesian analysis. JMLR 18.
    .. [3] Herbold, S. (2020), Autorank: A Python package for automated ranking of
       classifiers. JOSS 5(48).
    .. [4] baycomp, https://github.com/janezd/baycomp.

    Examples
    --------
    >>> rows = [{"dataset": f"d{c}", "curriculum": arm, "seed": 0, "test_wf1": 0.6 + 0.01 * c + gain}
    ...         for c in range(6) for arm, gain in (("none", 0.0), ("spcl", 0.02), ("random", 0.01))]
    >>> ranking = rank_arms(pd.DataFrame(rows), "test_wf1", cells=("dataset",), rng=np.random.default_rng(0))
    >>> ranking.mean_ranks.to_dict(), ranking.method
    ({'spcl': 1.0, 'random': 2.0, 'none': 3.0}, 'friedman + nemenyi')
    """
    check_rng(rng)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha}.")
    if rope < 0:
        raise ValueError(f"rope must be >= 0; got {rope}.")
    frame = results_frame(runs)
    missing = [c for c in (*cells, arm_column, "seed", metric) if c not in frame.columns]
    if missing:
        raise ValueError(f"rank_arms: the runs lack column(s) {', '.join(missing)}.")
    check_seed_roles(frame[frame["status"].astype(str) == "ok"] if "status" in frame else frame, "rank_arms")
    direction = infer_higher_is_better(metric) if higher_is_better is None else bool(higher_is_better)
    if direction is None:
        raise ValueError(f"rank_arms: {metric!r} has no better side (a share or contribution), so arms cannot be "
                         "ranked by it; pass higher_is_better=True or False if one side is better in your study.")
    hib: bool = direction
    scores, notes = cell_scores(frame, metric, cells=cells, arm_column=arm_column, arms=arms)
    if scores.shape[1] < 2:
        raise ValueError(f"rank_arms needs at least two arms; got {list(scores.columns)}.")
    ranks = (-scores if hib else scores).rank(axis=1, method="average")
    mean_ranks = ranks.mean().sort_values(kind="stable")
    n_cells = len(scores)
    friedman_p, wilcoxon_p, cd, method = float("nan"), float("nan"), float("nan"), "not run"
    nemenyi: dict[tuple[str, str], bool] = {}
    if scores.shape[1] == 2:
        wilcoxon_p, words, note = _two_arms(scores, list(mean_ranks.index), alpha=alpha, higher_is_better=hib)
        method = "two-sided exact Wilcoxon signed-rank"
        notes += [note] if note else []
    elif n_cells >= MIN_FRIEDMAN_CELLS:
        friedman_p, cd, method, nemenyi = _autorank(scores, alpha=alpha, higher_is_better=hib)
        words = (f"the arms differ in rank (Friedman p={friedman_p:.2g})" if friedman_p < alpha
                 else f"no significant difference in rank (Friedman p={friedman_p:.2g})")
    else:
        words = f"not tested: {n_cells} complete cells (Friedman needs at least {MIN_FRIEDMAN_CELLS})"
        notes.append(f"Friedman/Nemenyi not run: autorank needs at least {MIN_FRIEDMAN_CELLS} complete cells; got {n_cells}")
    if n_cells < MIN_BAYESIAN_CELLS:
        notes.append(f"Bayesian signed-rank test not run: it needs at least {MIN_BAYESIAN_CELLS} complete cells; "
                     f"got {n_cells}")
    pairwise = _bayesian_pairs(scores, mean_ranks, nemenyi, rope=rope, higher_is_better=hib, rng=rng, n_samples=n_samples)
    return Ranking(scores=scores, mean_ranks=mean_ranks, friedman_p=friedman_p, wilcoxon_p=wilcoxon_p,
                   critical_difference=cd, method=method, verdict=words, pairwise=pairwise, alpha=alpha, rope=rope,
                   higher_is_better=hib, notes=tuple(notes))


def _two_arms(scores: pd.DataFrame, order: list[str], *, alpha: float, higher_is_better: bool) -> tuple[float, str, str]:
    """Two-sided exact Wilcoxon test of the better-ranked arm's cell scores against the other's.

    Returns the p-value, the verdict in compare()'s words and a note (empty when none).
    """
    a, b = order
    x, y = scores[a].to_numpy(float), scores[b].to_numpy(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # every cell tied: explained by the verdict
        result = wilcoxon_exact(x, y)
    diff = float((x - y).mean())
    row = {"n_seeds": len(x), "_n_nonzero": result.n, "p": result.pvalue, "p_adjusted": result.pvalue,
           "min_p": result.min_pvalue, "min_p_adjusted": result.min_pvalue, "n_comparisons": 1,
           "test": result.method, "diff": diff, "_direction": result.direction}
    words = verdict(row, alpha=alpha, correction="none", higher_is_better=higher_is_better, unit="cell")
    note = ""
    if result.direction and np.isfinite(result.pvalue) and result.direction != np.sign(diff):
        favoured = a if result.direction > 0 else b
        note = (f"the Wilcoxon test favours {favoured} (most of its rank weight) while the mean cell difference "
                f"{a} - {b} is {diff:+.4g}; the verdict follows the mean")
    return result.pvalue, f"{a} vs {b}: {words}", note


def _autorank(scores: pd.DataFrame, *, alpha: float, higher_is_better: bool) -> tuple[float, float, str, dict]:
    from autorank import autorank

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(io.StringIO()):  # autorank prints its test choice
            result = autorank(scores.reset_index(drop=True), alpha=alpha, verbose=False, force_mode="nonparametric",
                              order="descending" if higher_is_better else "ascending")
    method = f"{result.omnibus} + {result.posthoc}" if result.posthoc else str(result.omnibus)
    cd = float(result.cd) if result.cd is not None else float("nan")
    ranks = result.rankdf["meanrank"]
    significant = {}
    if np.isfinite(cd):  # Nemenyi only after a significant Friedman test
        for a, b in itertools.combinations(ranks.index, 2):
            differ = float(result.pvalue) < alpha and abs(ranks[a] - ranks[b]) > cd
            significant[(str(a), str(b))] = significant[(str(b), str(a))] = bool(differ)
    return float(result.pvalue), cd, method, significant


def _bayesian_pairs(scores: pd.DataFrame, mean_ranks: pd.Series, nemenyi: dict, *, rope: float, higher_is_better: bool,
                    rng: np.random.Generator, n_samples: int) -> pd.DataFrame:
    from baycomp import two_on_multiple

    order = list(mean_ranks.index)
    pairs = list(itertools.combinations(order, 2))
    seeds = rng.integers(0, 2**31 - 1, size=len(pairs))
    records = []
    for (a, b), seed in zip(pairs, seeds):
        x, y = scores[a].to_numpy(float), scores[b].to_numpy(float)
        if len(x) < MIN_BAYESIAN_CELLS:
            p_left = p_rope = p_right = float("nan")
        elif rope > 0:
            p_left, p_rope, p_right = two_on_multiple(x, y, rope=rope, nsamples=n_samples, random_state=int(seed))
        else:
            (p_left, p_right), p_rope = two_on_multiple(x, y, rope=0, nsamples=n_samples, random_state=int(seed)), 0.0
        # baycomp: p_left = P(x - y > rope), i.e. the first arm scores higher
        better_a, better_b = (p_left, p_right) if higher_is_better else (p_right, p_left)
        records.append({
            "arm_a": a, "arm_b": b, "rank_diff": float(mean_ranks[b] - mean_ranks[a]),
            "nemenyi_significant": nemenyi.get((a, b), False) if nemenyi else np.nan,
            "p_a_better": float(better_a), "p_rope": float(p_rope), "p_b_better": float(better_b),
        })
    return pd.DataFrame.from_records(records, columns=["arm_a", "arm_b", "rank_diff", "nemenyi_significant",
                                                       "p_a_better", "p_rope", "p_b_better"])


def ranking_table(ranking: Ranking) -> pd.DataFrame:
    """The pairwise table with a plain-words ``verdict`` column (for reports).

    The Bayesian verdict calls a pair decided when one of the three posterior
    probabilities exceeds 0.95 (Benavoli et al. 2017), and names the probability and the
    number of cells it rests on; below :data:`MIN_BAYESIAN_CELLS` cells there is none.
    """
    table = ranking.pairwise.copy()
    cells = f"{len(ranking.scores)} cells"

    def words(row: pd.Series) -> str:
        if not np.isfinite(row["p_rope"]):
            return f"not run: {cells} (needs at least {MIN_BAYESIAN_CELLS})"
        for name, p in ((row["arm_a"], row["p_a_better"]), (row["arm_b"], row["p_b_better"])):
            if p > BAYESIAN_DECIDED:
                return f"{name} better (P={p:.3g}, {cells})"
        if row["p_rope"] > BAYESIAN_DECIDED:
            return f"practically equivalent (rope {ranking.rope:g}, P={row['p_rope']:.3g}, {cells})"
        return f"undecided ({cells})"

    table["bayesian_verdict"] = [words(row) for _, row in table.iterrows()] if len(table) else []
    return table


__all__ = ["MIN_BAYESIAN_CELLS", "MIN_FRIEDMAN_CELLS", "Ranking", "cell_scores", "rank_arms", "ranking_table"]
