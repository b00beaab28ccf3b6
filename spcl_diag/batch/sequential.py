"""``run_until_decided``: add seeds to a grid's comparisons until each is decided (``batch --until-decided``).

Round 0 trains the grid's seeds. After each round every comparison of an arm with the
baseline in a cell (dataset, backbone, modalities, balancing) gets the anytime-valid confidence
sequence of its seed-paired differences (:func:`spcl_diag.stats.sequential.confidence_sequence`,
in the order of the seed stream); a comparison still *undecided* with fewer than ``max_seeds``
seeds gets the next ``seeds_per_round`` seeds of the stream, for its arm and the baseline only.
The batch stops when every comparison is better, worse, equivalent (inside +-``rope``) or at
``max_seeds``. Peeking after every round is allowed: the sequence holds its level uniformly over
time, so the decision at whatever round the batch stops is valid (docs/statistics.md).

The seed stream continues the grid's seeds: after ``seed = [0, 1, 2]`` come 3, 4, ... (the next
integers not listed); after ``base_seed``/``n_seeds`` come the next seeds of
:func:`~spcl_diag.batch.grid.derive_seeds` (its seeds do not depend on how many are derived).

Every round is an ordinary :func:`~spcl_diag.batch.runner.run_batch` of a sub-grid, so every
executor and ``stack="arms"`` work and an interrupted batch resumes: the state is recomputed
from the runs on disk (how many seeds of the stream each arm has), nothing else is kept.
``<out>/sequential.json`` records each round's interval, e-value, decision and seeds used,
recomputed from disk after every round, and beside the final sequence the fixed-n Student t
interval at the same level (``t_low``/``t_high``), which is *not* valid for a design that
peeked: it is there to show how much wider the valid interval is.

The family of comparisons is the grid's (cell, arm) pairs; each sequence runs at
``alpha / k`` (Bonferroni), so the chance that any of them ever errs stays below ``alpha``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spcl_diag.batch.executors import Executor, resolve_executor
from spcl_diag.batch.grid import Grid, derive_seeds, load_grid
from spcl_diag.batch.runner import BatchSummary, run_batch
from spcl_diag.errors import ConfigError
from spcl_diag.stats.comparison import infer_higher_is_better
from spcl_diag.stats.intervals import t_interval
from spcl_diag.stats.pairing import paired_differences
from spcl_diag.stats.sequential import (
    SCORE_DIFFERENCE_BOUNDS,
    check_rope,
    confidence_sequence,
    decision_word,
)

SEQUENTIAL_FILE = "sequential.json"
CELL_COLUMNS: tuple[str, ...] = ("dataset", "backbone", "modalities", "balancing")
#: Most seeds per comparison (the length of the simulation in analyses/sequential_validity.py).
MAX_SEEDS = 50


@dataclass(frozen=True)
class SequentialSummary:
    """What a sequential batch did: the outcome of every round and the final state of each comparison."""

    rounds: tuple[BatchSummary, ...]
    comparisons: tuple[dict[str, Any], ...]  # as in sequential.json
    path: Path  # the sequential.json

    def line(self) -> str:
        """``4 comparisons after 3 rounds: 2 better, 1 equivalent, 1 undecided at 20 seeds``."""
        words = pd.Series([c["decision"] for c in self.comparisons]).value_counts()
        at_max = [c for c in self.comparisons if c["decision"] == "undecided" and c["at_max_seeds"]]
        tail = f" ({len(at_max)} undecided at max_seeds)" if at_max else ""
        return (f"{len(self.comparisons)} comparisons after {len(self.rounds)} rounds: "
                + ", ".join(f"{n} {w}" for w, n in words.items()) + tail)


def seed_stream(grid: Grid, n: int) -> tuple[int, ...]:
    """The first ``n`` seeds of the grid's seed stream (module docstring)."""
    if not grid.seed:
        assert grid.base_seed is not None
        return derive_seeds(grid.base_seed, n)
    seeds = list(grid.seed[:n])
    candidate = 0
    while len(seeds) < n:
        if candidate not in grid.seed:
            seeds.append(candidate)
        candidate += 1
    return tuple(seeds)


def run_until_decided(
    grid: Grid | dict[str, Any] | str | Path,
    out: str | Path,
    *,
    metric: str = "test_wf1",
    baseline: str = "none",
    rope: float = 0.0,
    max_seeds: int = MAX_SEEDS,
    seeds_per_round: int = 2,
    alpha: float = 0.05,
    bounds: tuple[float, float] = SCORE_DIFFERENCE_BOUNDS,
    executor: Executor | str | None = None,
    jobs: int = 1,
    device: str = "auto",
    retry_failed: bool = False,
    progress: bool = True,
    stack: str | None = None,
    probe: bool = False,
    log: Sequence[str] = (),
) -> SequentialSummary:
    """Run ``grid``, then add seeds to its undecided comparisons round by round.

    Parameters
    ----------
    grid, out, executor, jobs, device, retry_failed, progress, stack, probe, log
        As :func:`~spcl_diag.batch.runner.run_batch`.
    metric
        The result column the decisions are about (``test_wf1``).
    baseline
        The arm every other arm of a cell is compared with.
    rope
        Half-width of the region of practical equivalence in the metric's units (0: no
        equivalence decision; 0.01 = one point of F1).
    max_seeds
        Most seeds a comparison gets (default 50, the horizon the simulation checked).
    seeds_per_round
        Seeds added per round to each undecided comparison.
    alpha
        Family-wise error over all comparisons and all rounds (each sequence at ``alpha / k``).
    bounds
        Declared bounds of a paired difference (default [-1, 1], which always holds for
        scores in [0, 1]; see :func:`~spcl_diag.stats.sequential.confidence_sequence`).

    Returns
    -------
    SequentialSummary

    Raises
    ------
    ConfigError
        An invalid option, a grid without the baseline or another arm, or a grid that sweeps
        ``variants``/``axes`` (their runs are not paired by seed alone).

    Examples
    --------
    Two one-epoch runs per arm decide nothing, so the batch stops at ``max_seeds``:

    ```python
    from spcl_diag import run_until_decided
    from spcl_diag.batch import Grid

    small = {"train.epochs": 1, "data.synthetic.n_dialogues": 12, "model.hidden_dim": 8}
    grid = Grid(curriculum=("none", "spcl"), seed=(0,), overrides=small)
    summary = run_until_decided(grid, "runs", max_seeds=2, seeds_per_round=1)
    first = summary.comparisons[0]
    len(summary.rounds), first["seeds"], first["decision"]  # (2, [0, 1], 'undecided')
    ```
    """
    grid = load_grid(grid)
    problems = []
    if not isinstance(max_seeds, int) or max_seeds < 2:
        problems.append(f"max_seeds must be an integer >= 2; got {max_seeds!r}")
    if not isinstance(seeds_per_round, int) or seeds_per_round < 1:
        problems.append(f"seeds_per_round must be an integer >= 1; got {seeds_per_round!r}")
    if not 0 < alpha < 1:
        problems.append(f"alpha must lie in (0, 1); got {alpha}")
    try:
        rope = check_rope(rope)
    except ValueError as err:
        problems.append(str(err).rstrip("."))
    if baseline not in grid.curriculum or len(grid.curriculum) < 2:
        problems.append(f"the grid's curriculum axis {list(grid.curriculum)} needs the baseline {baseline!r} and another arm")
    if len(grid.variants) > 1 or grid.axes:
        problems.append("--until-decided compares arms seed by seed within a cell; a grid with [[variants]] or [axes] "
                        "has several runs per cell, arm and seed: run one grid per setting")
    if problems:
        raise ConfigError("until-decided: " + "; ".join(problems) + ".")
    hib = infer_higher_is_better(metric)
    arms = [a for a in grid.curriculum if a != baseline]
    cells = [dict(zip(CELL_COLUMNS, c)) for c in
             _product(grid.dataset, grid.backbone, grid.modalities, grid.balancing)]
    n_start = len(grid.seeds())
    per_alpha = alpha / (len(cells) * len(arms))
    executor = resolve_executor(executor, jobs=jobs)
    out = Path(out)
    rounds = [run_batch(grid, out, executor=executor, device=device, retry_failed=retry_failed,
                        progress=progress, stack=stack, probe=probe, log=log)]
    settings = {"metric": metric, "baseline": baseline, "rope": rope, "max_seeds": max_seeds,
                "seeds_per_round": seeds_per_round, "alpha": alpha, "alpha_per_comparison": per_alpha,
                "bounds": list(bounds), "higher_is_better": hib, "grid": grid.to_dict()}
    while True:
        state = _state(grid, _results(out), cells, arms, baseline=baseline, metric=metric, n_start=n_start,
                       seeds_per_round=seeds_per_round, max_seeds=max_seeds, alpha=per_alpha, rope=rope,
                       bounds=bounds, hib=hib)
        path = _write(out, {**settings, "comparisons": state})
        todo = [c for c in state if c["decision"] == "undecided" and not c["at_max_seeds"]]
        if not todo:
            return SequentialSummary(tuple(rounds), tuple(state), path)
        for sub in _next_grids(grid, todo, baseline=baseline, seeds_per_round=seeds_per_round, max_seeds=max_seeds):
            rounds.append(run_batch(sub, out, executor=executor, device=device, retry_failed=retry_failed,
                                    progress=progress, stack=stack, probe=probe, log=log))


def _product(*axes: tuple[str, ...]) -> list[tuple[str, ...]]:
    import itertools

    return list(itertools.product(*axes))


def _results(out: Path) -> pd.DataFrame:
    from spcl_diag.runs.loading import load_runs

    return load_runs(out).results if out.is_dir() else pd.DataFrame()


def _state(grid: Grid, results: pd.DataFrame, cells: list[dict[str, str]], arms: list[str], *, baseline: str, metric: str,
           n_start: int, seeds_per_round: int, max_seeds: int, alpha: float, rope: float,
           bounds: tuple[float, float], hib: bool | None) -> list[dict[str, Any]]:
    """Each comparison's sequence at every round boundary, from the results of the runs on disk."""
    stream = seed_stream(grid, max_seeds)
    results = results[results["seed"].isin(stream)] if len(results) else results
    state = []
    for cell in cells:
        rows = _cell_rows(results, cell, grid)
        for arm in arms:
            attempted = _attempted(rows, arm, stream) if len(rows) else 0
            diffs = (paired_differences(rows, metric, baseline=baseline, arm=arm, cells=(),
                                        caller="until-decided").get((), pd.Series(dtype=float))
                     if len(rows) and metric in rows else pd.Series(dtype=float))
            order = [s for s in stream[:attempted] if s in diffs.index]
            d = diffs.loc[order].to_numpy(float)
            record: dict[str, Any] = {**cell, "arm": arm, "baseline": baseline, "seeds_attempted": attempted,
                                      "n_seeds": len(d), "seeds": [int(s) for s in order], "rounds": []}
            if len(d):
                cs = confidence_sequence(d, alpha=alpha, bounds=bounds)
                codes = cs.codes(rope=rope)
                boundaries = sorted({min(n, len(d)) for n in range(n_start, attempted + 1, seeds_per_round)} | {len(d)})
                for number, n in enumerate(boundaries):
                    i = n - 1
                    record["rounds"].append({
                        "round": number, "n_seeds": n, "estimate": float(cs.estimate[i]), "low": float(cs.low[i]),
                        "high": float(cs.high[i]), "e_value": float(cs.e_value[i]),
                        "p_anytime": float(cs.p_anytime[i]),
                        "decision": decision_word(int(codes[i]), higher_is_better=hib)})
            last = record["rounds"][-1] if record["rounds"] else {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # one seed: no t interval (nan)
                fixed = t_interval(d, confidence_level=1 - alpha) if len(d) else None
            record.update(decision=last.get("decision", "undecided"), low=last.get("low", float("nan")),
                          high=last.get("high", float("nan")), estimate=last.get("estimate", float("nan")),
                          t_low=fixed.low if fixed else float("nan"), t_high=fixed.high if fixed else float("nan"),
                          at_max_seeds=attempted >= max_seeds)
            state.append(record)
    return state


def _cell_rows(results: pd.DataFrame, cell: dict[str, str], grid: Grid) -> pd.DataFrame:
    if not len(results):
        return results
    keep = np.ones(len(results), dtype=bool)
    for column, value in cell.items():
        keep &= (results[column].astype(str) == str(value)).to_numpy()
    return results[keep & results["curriculum"].astype(str).isin(grid.curriculum).to_numpy()]


def _attempted(rows: pd.DataFrame, arm: str, stream: tuple[int, ...]) -> int:
    """How many leading seeds of the stream the arm (and so its comparison) has tried, ok or failed."""
    have = set(rows.loc[rows["curriculum"].astype(str) == arm, "seed"].astype(int))
    n = 0
    while n < len(stream) and stream[n] in have:
        n += 1
    return n


def _next_grids(grid: Grid, todo: list[dict[str, Any]], *, baseline: str, seeds_per_round: int,
                max_seeds: int) -> list[Grid]:
    """One sub-grid per (cell, seeds to add): the baseline and the cell's undecided arms."""
    stream = seed_stream(grid, max_seeds)
    groups: dict[tuple, list[str]] = {}
    for c in todo:
        seeds = stream[c["seeds_attempted"]:min(c["seeds_attempted"] + seeds_per_round, max_seeds)]
        groups.setdefault((*(c[k] for k in CELL_COLUMNS), seeds), []).append(c["arm"])
    subs = []
    for (dataset, backbone, modalities, balancing, seeds), arms in groups.items():
        subs.append(Grid(dataset=(dataset,), backbone=(backbone,), modalities=(modalities,),
                         curriculum=(baseline, *arms), balancing=(balancing,), seed=tuple(seeds),
                         overrides=grid.overrides, plugins=grid.plugins))
    return subs


def _write(out: Path, payload: dict[str, Any]) -> Path:
    path = out / SEQUENTIAL_FILE
    out.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(_finite(payload), indent=2, allow_nan=False) + "\n")
    tmp.replace(path)
    return path


def _finite(value: Any) -> Any:
    """``value`` with every nan or inf float replaced by None (strict JSON)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def read_sequential(out_dir: str | Path) -> dict[str, Any] | None:
    """The ``sequential.json`` of a folder, or None."""
    path = Path(out_dir) / SEQUENTIAL_FILE
    return json.loads(path.read_text()) if path.is_file() else None


__all__ = ["MAX_SEEDS", "SEQUENTIAL_FILE", "SequentialSummary", "read_sequential", "run_until_decided", "seed_stream"]
