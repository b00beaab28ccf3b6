"""Tuning without fooling yourself: choose on tuning seeds, compare on fresh seeds.

``tune(grid, out)`` reads a grid whose ``[axes]`` table lists candidate values of any config
field, and

1. trains every candidate of every independent arm (the product of the ``[axes]`` values
   over the fields that arm reads, :func:`candidates`) on ``tune_seeds`` *tuning* seeds
   (``seed_role = "tune"``);
2. chooses, per cell (dataset, backbone, modalities, balancing) and arm, the candidate with
   the best mean of the ``select`` metric (a dev metric, e.g. ``dev_wf1``) over the tuning
   seeds (:func:`choose`): candidates with a failed run or no ``select`` value on any seed
   are not eligible, and the eligible ones are compared on the seeds where all of them have
   a value, each named when one lacks a seed. The paced controls (``random``, ``anti``)
   replay the pacing of the ``spcl`` run with the same config, so they take the ``spcl``
   arm's choice instead of their own;
3. trains the chosen configs on ``eval_seeds`` *evaluation* seeds, disjoint from the tuning
   seeds (``seed_role = "eval"``), and writes ``<out>/tune.json``: the seeds, the
   candidates, every candidate's dev mean and the choice.

The seeds are ``derive_seeds(base_seed, tune_seeds + eval_seeds)``: the first ``tune_seeds``
tune, the rest evaluate. Compare the evaluation runs only;
:func:`~spcl_diag.stats.compare` refuses a frame that mixes the two roles.

A grid file for tuning::

    dataset = ["synthetic"]
    curriculum = ["none", "spcl", "random"]
    base_seed = 2026

    [overrides]
    "train.epochs" = 20

    [axes]
    "train.lr" = [1e-4, 3e-4]
    "pacing.growth" = [1.1, 1.25]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spcl_diag.batch.executors import Executor, resolve_executor
from spcl_diag.batch.grid import Grid, derive_seeds
from spcl_diag.batch.runner import run_batch
from spcl_diag.curriculum.arms import PACED_ARMS
from spcl_diag.errors import ConfigError
from spcl_diag.runs.sweep import sweep_points

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CELL: tuple[str, ...] = ("dataset", "backbone", "modalities", "balancing")
TUNE_FILE = "tune.json"


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` did; everything but ``comparison`` is also in ``path`` (``tune.json``).

    ``comparison`` is :func:`~spcl_diag.stats.comparison.compare` of the arms on the
    evaluation seeds only, on the test metric of ``select`` (``dev_wf1`` -> ``test_wf1``);
    ``None`` when the baseline arm or a second arm has no evaluation run.
    """

    path: Path
    tune_seeds: tuple[int, ...]
    eval_seeds: tuple[int, ...]
    record: dict[str, Any]
    comparison: pd.DataFrame | None = None
    metric: str = "test_wf1"

    @property
    def choices(self) -> list[dict[str, Any]]:
        """One entry per cell and arm: the chosen candidate, its overrides and dev mean."""
        return list(self.record["choices"])


def candidates(axes: Mapping[str, Any], *, curriculum: str = "spcl", balancing: str = "none") -> list[dict[str, Any]]:
    """The candidates of one arm: the product of the ``[axes]`` values over the fields it reads.

    A field the arm ignores (``pacing.*`` for ``none``, ``balancing_config.*`` without a
    balancing method) is not multiplied in, as in a batch grid
    (:func:`~spcl_diag.runs.sweep.sweep_points`), so no candidate is trained twice.

    Examples
    --------
    >>> candidates({"train.lr": [1e-4, 3e-4], "pacing.growth": [1.1]})
    [{'train.lr': 0.0001, 'pacing.growth': 1.1}, {'train.lr': 0.0003, 'pacing.growth': 1.1}]
    >>> candidates({"train.lr": [1e-4, 3e-4], "pacing.growth": [1.1, 1.25]}, curriculum="none")
    [{'train.lr': 0.0001}, {'train.lr': 0.0003}]
    """
    problems = [f"axis {k!r}: expected a non-empty list of values, got {v!r}" for k, v in axes.items()
                if not isinstance(v, list) or not v]
    if problems or not axes:
        raise ConfigError("invalid [axes]:\n  - " + "\n  - ".join(problems or ["[axes] is empty: nothing to tune"]))
    return sweep_points(axes, curriculum=curriculum, balancing=balancing)


def split_seeds(base_seed: int, tune_seeds: int, eval_seeds: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Tuning and evaluation seeds from one base seed, disjoint by construction (checked).

    Examples
    --------
    >>> tune, evaluate = split_seeds(2026, 2, 3)
    >>> len(tune), len(evaluate), set(tune).isdisjoint(evaluate)
    (2, 3, True)
    """
    if tune_seeds < 1 or eval_seeds < 1:
        raise ConfigError(f"--tune-seeds and --eval-seeds must be >= 1; got {tune_seeds} and {eval_seeds}.")
    seeds = derive_seeds(base_seed, tune_seeds + eval_seeds)
    tune, evaluate = seeds[:tune_seeds], seeds[tune_seeds:]
    if not set(tune).isdisjoint(evaluate) or len(set(seeds)) != len(seeds):
        raise ConfigError(f"base_seed {base_seed}: the derived seeds repeat; choose another base_seed.")
    return tune, evaluate


def read_tune_grid(source: str | Path | Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The grid fields and the ``[axes]`` table of a tuning grid (file or mapping)."""
    if isinstance(source, Mapping):
        values, where = dict(source), "tuning grid"
    else:
        path = Path(source)
        try:
            values, where = tomllib.loads(path.read_text()), str(path)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path}: not a valid TOML grid file: {err}") from None
    axes = values.pop("axes", None)
    if not isinstance(axes, Mapping):
        raise ConfigError(f"{where}: a tuning grid needs an [axes] table of candidate values, e.g. \"train.lr\" = [1e-4, 3e-4].")
    if "variants" in values:
        raise ConfigError(f"{where}: put the settings to choose from in [axes], not in variants.")
    for key in ("seed", "n_seeds"):
        if key in values:
            raise ConfigError(f"{where}: {key!r} is set by tune (--tune-seeds, --eval-seeds); give only base_seed.")
    values.setdefault("base_seed", 0)
    return values, dict(axes)


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value)


def _grid(fields: dict[str, Any], *, seeds: tuple[int, ...], role: str, **axes: Any) -> Grid:
    base = {k: v for k, v in fields.items() if k not in ("base_seed",)}
    overrides = {**dict(base.pop("overrides", {})), "seed_role": role}
    return Grid.from_dict({**base, **axes, "seed": seeds, "overrides": overrides})


def choose(
    tuning: pd.DataFrame, *, select: str, higher_is_better: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The best candidate of each cell and arm over the tuning seeds, the candidates' means, and what was not chosen.

    Parameters
    ----------
    tuning
        One row per tuning run: the :data:`CELL` columns, ``arm``, ``candidate`` (index),
        ``seed``, ``status`` and ``select``.
    select
        The column to optimise.
    higher_is_better
        Its direction.

    Returns
    -------
    means, choices, not_chosen
        ``means``: one entry per candidate with ``dev_mean`` over ``n_seeds`` seeds (the
        seeds the cell's eligible candidates share, so every eligible candidate is averaged
        over the same seeds), ``failed`` runs, ``missing_seeds`` (finished without a
        ``select`` value) and ``eligible``; ``choices``: the winner of each cell and arm;
        ``not_chosen``: cells and arms without one, with the reason.

    Notes
    -----
    A candidate with a failed run, or without a finite ``select`` value on any seed, is never
    chosen: nothing compares greater than ``nan``, so it would otherwise win whenever it is
    listed first. The others are compared on their common seeds; a candidate missing a seed
    the others have is named in ``note``.

    Examples
    --------
    >>> import pandas as pd
    >>> tuning = pd.DataFrame({"dataset": "synthetic", "backbone": "late_fusion", "modalities": "tav",
    ...     "balancing": "none", "arm": "none", "candidate": [0, 0, 1, 1], "seed": [1, 2, 1, 2],
    ...     "status": "ok", "dev_wf1": [float("nan"), float("nan"), 0.5, 0.6]})
    >>> means, choices, _ = choose(tuning, select="dev_wf1", higher_is_better=True)
    >>> [(c["candidate"], round(c["dev_mean"], 2), c["n_seeds"]) for c in choices]
    [(1, 0.55, 2)]
    """
    import pandas as pd

    sign = 1.0 if higher_is_better else -1.0
    means: list[dict[str, Any]] = []
    choices: list[dict[str, Any]] = []
    not_chosen: list[dict[str, Any]] = []
    for key, rows in tuning.groupby([*CELL, "arm"], sort=True):
        where = dict(zip([*CELL, "arm"], key))
        entries, seed_sets = [], {}
        for index, runs in rows.groupby("candidate", sort=True):
            ok = runs[runs["status"].astype(str) == "ok"]
            values = pd.to_numeric(ok[select], errors="coerce")
            seeds = set(ok.loc[np.isfinite(values), "seed"])
            failed, missing = int(len(runs) - len(ok)), sorted(set(ok["seed"]) - seeds)
            entry = {**where, "candidate": int(index), "dev_mean": float(values.mean()) if seeds else float("nan"),
                     "n_seeds": len(seeds), "failed": failed, "missing_seeds": missing,
                     "eligible": failed == 0 and bool(seeds)}
            if entry["eligible"]:
                seed_sets[int(index)] = seeds
            entries.append((entry, ok.assign(_value=values)))
        common = set.intersection(*seed_sets.values()) if seed_sets else set()
        union = set.union(*seed_sets.values()) if seed_sets else set()
        for entry, ok in entries:
            if entry["eligible"]:
                on_common = ok[ok["seed"].isin(common)]["_value"]
                entry.update(dev_mean=float(on_common.mean()) if common else float("nan"), n_seeds=len(common))
                lacking = sorted(union - seed_sets[entry["candidate"]])
                if lacking:
                    entry["note"] = (f"no {select} on seed(s) {lacking}: the candidates are compared on their "
                                     f"{len(common)} common seed(s)")
            else:
                entry["note"] = "a failed tuning run: not eligible" if entry["failed"] else f"no {select} on any seed: not eligible"
            means.append(entry)
        eligible = [e for e, _ in entries if e["eligible"] and np.isfinite(e["dev_mean"])]
        if eligible:
            best = max(eligible, key=lambda e: sign * e["dev_mean"])  # the first of equals: stable
            choices.append({**where, "candidate": best["candidate"], "dev_mean": best["dev_mean"],
                            "n_seeds": best["n_seeds"]})
        else:
            reason = ("the eligible candidates share no tuning seed with a value" if seed_sets else
                      f"every candidate had a failed tuning run or no {select} value")
            not_chosen.append({**where, "reason": reason})
    return means, choices, not_chosen


def tune(
    grid: str | Path | Mapping[str, Any],
    out: str | Path,
    *,
    tune_seeds: int = 5,
    eval_seeds: int = 10,
    select: str = "dev_wf1",
    baseline: str = "none",
    rng: np.random.Generator | int = 0,
    executor: Executor | str | None = None,
    jobs: int = 1,
    device: str = "auto",
    progress: bool = True,
) -> TuneResult:
    """Choose each arm's config on tuning seeds, then train the choice on fresh seeds.

    Parameters
    ----------
    grid
        A tuning grid (TOML path or mapping) with an ``[axes]`` table; ``base_seed`` seeds
        both seed sets.
    out
        Folder of run directories; ``tune.json`` is written there.
    tune_seeds, eval_seeds
        Seeds for choosing and for evaluating.
    select
        Results column the choice maximises, or minimises when its declared direction is
        lower-is-better (:func:`~spcl_diag.metrics.registry.metric_direction`); must be a
        ``dev_`` metric, since test metrics would leak.
    baseline
        The arm of the final comparison (:attr:`TuneResult.comparison`).
    rng
        The statistics' generator of that comparison, or an ``int`` seed of one (as in
        SPEC 7, ``numpy.random.default_rng(rng)``).
    executor, jobs, device, progress
        As in :func:`~spcl_diag.batch.runner.run_batch`.

    Returns
    -------
    TuneResult
        The choices, the record of ``tune.json`` and the comparison on the evaluation seeds.

    Examples
    --------
    ```python
    from spcl_diag import tune

    grid = {"curriculum": ["none"], "axes": {"train.lr": [1e-4, 1e-3]},
            "overrides": {"train.epochs": 1, "data.synthetic.n_dialogues": 10, "model.hidden_dim": 8}}
    result = tune(grid, "runs", tune_seeds=1, eval_seeds=1)
    [(c["arm"], c["overrides"]) for c in result.choices]  # [('none', {'train.lr': ...})], the lr chosen
    ```
    """
    from spcl_diag.runs.loading import load_runs
    from spcl_diag.stats.comparison import compare, infer_higher_is_better

    if not select.startswith("dev_"):
        raise ConfigError(f"--select must be a dev metric (dev_wf1, dev_acc, ...); got {select!r}: choosing on test leaks.")
    pool = resolve_executor(executor, jobs=jobs)
    fields, axes = read_tune_grid(grid)
    tune_set, eval_set = split_seeds(int(fields["base_seed"]), tune_seeds, eval_seeds)
    arms = _as_list(fields.get("curriculum", ["none", "spcl"]))
    independent = [a for a in arms if a not in PACED_ARMS]
    options = {(arm, method): candidates(axes, curriculum=arm, balancing=method)
               for arm in independent for method in _as_list(fields.get("balancing", ["none"]))}
    out = Path(out)
    run_ids: dict[tuple[str, str, int], dict[str, tuple]] = {}  # (arm, balancing, candidate) -> run id -> (cell, arm)
    for (arm, method), arm_options in options.items():
        for index, option in enumerate(arm_options):
            g = _grid(fields, seeds=tune_set, role="tune", curriculum=[arm], balancing=[method], variants=[option])
            run_ids[(arm, method, index)] = {c.run_id(): (tuple(str(getattr(c, k)) for k in CELL), c.curriculum)
                                             for c in g.configs()}
            run_batch(g, out, executor=pool, device=device, progress=progress)
    results = load_runs(out).results.set_index("run_id")
    if select not in results.columns:
        raise ConfigError(f"--select {select!r} is not a results column; dev columns: "
                          f"{', '.join(c for c in results.columns if c.startswith('dev_'))}.")
    direction = infer_higher_is_better(select)
    if direction is None:
        raise ConfigError(f"--select {select!r} has no better side (a share or contribution), so it cannot choose a "
                          "config; select on a score such as dev_wf1 or dev_macro_f1.")
    tuning = results.loc[[run_id for ids in run_ids.values() for run_id in ids]].reset_index()
    keys = {run_id: (*cell, arm, index) for (_, _, index), ids in run_ids.items() for run_id, (cell, arm) in ids.items()}
    tuning[[*CELL, "arm", "candidate"]] = [keys[run_id] for run_id in tuning["run_id"]]
    means, picked, not_chosen = choose(tuning, select=select, higher_is_better=bool(direction))
    overrides_of = {(*cell, arm, index): options[(arm, method)][index]
                    for (arm, method, index), ids in run_ids.items() for cell, _ in ids.values()}
    for entry in means:
        entry["overrides"] = overrides_of[(*(entry[k] for k in CELL), entry["arm"], entry["candidate"])]
    choices = []
    for choice in sorted(picked, key=lambda c: (tuple(str(c[k]) for k in CELL), arms.index(c["arm"]))):
        key = (*(choice[k] for k in CELL), choice["arm"], choice["candidate"])
        choices.append({**choice, "overrides": overrides_of[key]})
    for cell in sorted({tuple(c[k] for k in CELL) for c in picked}):
        spcl = next((c for c in picked if tuple(c[k] for k in CELL) == cell and c["arm"] == "spcl"), None)
        for arm in (a for a in arms if a in PACED_ARMS):
            if spcl is not None:
                choices.append({**dict(zip(CELL, cell)), "arm": arm, "candidate": spcl["candidate"],
                                "overrides": overrides_of[(*cell, "spcl", spcl["candidate"])], "dev_mean": None,
                                "note": "paced control: takes the spcl arm's choice"})
    eval_ids = []
    for choice in choices:
        cell_axes = {k: [choice[k]] for k in CELL}
        g = _grid(fields, seeds=eval_set, role="eval", curriculum=[choice["arm"]], variants=[choice["overrides"]], **cell_axes)
        eval_ids += [c.run_id() for c in g.configs()]
        run_batch(g, out, executor=pool, device=device, progress=progress)
    record = {
        "select": select, "higher_is_better": bool(direction), "base_seed": int(fields["base_seed"]),
        "tune_seeds": list(tune_set), "eval_seeds": list(eval_set), "axes": axes,
        "candidates": [{"arm": arm, "balancing": method, "candidate": i, "overrides": o}
                       for (arm, method), arm_options in options.items() for i, o in enumerate(arm_options)],
        "dev_means": means, "choices": choices, "eval_run_ids": eval_ids, "not_chosen": not_chosen,
    }
    path = out / TUNE_FILE
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    metric = select.replace("dev_", "test_", 1)
    evaluation = load_runs(out).results
    evaluation = evaluation[evaluation["run_id"].isin(eval_ids)]
    arms_run = set(evaluation["curriculum"])
    comparison = None
    if baseline in arms_run and len(arms_run) > 1 and metric in evaluation.columns:
        comparison = compare(evaluation, metric, baseline=baseline, rng=np.random.default_rng(rng))
    return TuneResult(path, tune_set, eval_set, record, comparison, metric)


__all__ = ["TUNE_FILE", "TuneResult", "candidates", "choose", "read_tune_grid", "split_seeds", "tune"]
