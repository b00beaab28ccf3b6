"""A self-contained Markdown report of a folder of runs, and the writer of figure files.

``write_report(runs)`` writes ``report.md`` with its figures as PNG files in a folder beside
it (``report_figures/``), linked by relative paths, so the folder can be moved or committed
as it is. The report holds

* the :func:`spcl_diag.stats.compare` tables of test weighted-F1 and accuracy and of the
  main imbalance metrics (unimodal weighted-F1 and disparity ratio per modality), every arm
  against the ``none`` baseline, seed-paired, Holm-corrected;
* the standard figures (:func:`spcl_diag.plots.standard_figures`) and a forest plot per
  comparison table (:func:`report_figures`, the set ``spcl-diag figures`` writes too);
* a reproduction section when a published table covers the runs (:func:`spcl_diag.reproduce`)
  and a ranking section with a critical-difference diagram when the runs span at least two
  cells (:func:`spcl_diag.stats.rank_arms`);
* the run inventory (runs per configuration and seed, failures with their last error line);
* the exact grids that batches recorded in the folder, the package version and the source
  hashes of the plugins the runs imported.

Figures are drawn by :mod:`spcl_diag.plots` and saved by
:func:`spcl_diag.plots.saving.save_figures`; each metric's comparison is
:func:`spcl_diag.stats.multi_metric.compare_metrics`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from spcl_diag._version import __version__
from spcl_diag.batch.runner import recorded_grids
from spcl_diag.metrics.registry import column_label
from spcl_diag.plots import standard_figures
from spcl_diag.plots.saving import save_figures
from spcl_diag.runs import directory as rd
from spcl_diag.runs.loading import RunTables, load_runs
from spcl_diag.stats.paper_table import to_markdown
from spcl_diag.stats.tables import markdown_table

PERFORMANCE_METRICS: tuple[str, ...] = ("test_wf1", "test_acc")
IMBALANCE_METRICS: tuple[str, ...] = tuple(
    f"test_{name}_{m}" for name in ("wf1", "disparity_ratio") for m in ("t", "a", "v")
)
GROUP_COLUMNS: tuple[str, ...] = ("dataset", "backbone", "modalities")
FIGURE_CAPTIONS: dict[str, str] = {
    "accuracy_curves": "Dev accuracy of the fused prediction and of each modality's own head over epochs, mean and "
    "95% t-interval over seeds from 5 seeds on (below 5, each seed as a thin line; n in the legend), one line per arm.",
    "disparity_curves": "Disparity ratio of each modality (its summed gold-class confidence over the weakest one's; "
    "1 = balanced) on dev over epochs.",
    "grad_share": "Share of each modality branch in the gradient norm over epochs, per arm (grey line: equal shares).",
    "curriculum": "Difficulty trajectories of every training utterance (rows, ordered by the spcl run's mean "
    "difficulty; grey = left out of the loss) for the curriculum arms of one seed, and the fraction kept per batch.",
    "difficulty_by_modality": "SPCL difficulty of test utterances under the selected model, grouped by the "
    "modality most confident in the gold class.",
    "pair_gap": "Gain of each modality on top of the other two (tav minus the pair without it), seed by seed.",
    "cd_diagram": "Critical-difference diagram: mean rank of each arm over the cells; a bar joins arms the "
    "Nemenyi test cannot tell apart.",
    "confusion": "Test confusion of the fused prediction and of each modality's head at the selected epoch, rows "
    "normalised by the gold count (the diagonal is each class's recall), summed over seeds.",
    "meta_forest": "Random-effects meta-analysis of spcl - baseline test weighted-F1 over cells: each cell's mean "
    "paired difference with its 95% interval (square sized by its weight), the pooled effect (diamond: its 95% "
    "interval) and the prediction interval for the effect in a new cell (bar).",
    "aggregate": "Interquartile mean of test weighted-F1 over all cells and the probability that a run of each arm "
    "beats a baseline run, averaged over cells, with 95% stratified bootstrap intervals (Agarwal et al. 2021).",
}


def rng_seed(rng: np.random.Generator | int) -> int:
    """The ``int`` seed of the report's statistics: ``rng`` itself, or one draw from a Generator.

    >>> rng_seed(3), rng_seed(np.random.default_rng(0)) == rng_seed(np.random.default_rng(0))
    (3, True)
    """
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**32))
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)):
        raise TypeError(f"rng must be a numpy Generator or an int seed; got {rng!r}.")
    return int(rng)


def comparison_tables(
    tables: RunTables,
    *,
    metrics: Mapping[str, Sequence[str]] | None = None,
    baseline: str = "none",
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """``compare()`` tables by section name (``performance``, ``imbalance``).

    Each metric is its own family for the Holm correction. Metrics absent from the runs are
    skipped. Without :mod:`spcl_diag.stats` (or a baseline arm) the tables hold the mean and
    standard deviation over seeds instead, flagged by ``attrs["fallback"]``.
    """
    sections = dict(metrics) if metrics is not None else {"performance": PERFORMANCE_METRICS, "imbalance": IMBALANCE_METRICS}
    results = tables.results[tables.results["status"] == "ok"]
    out = {}
    for name, wanted in sections.items():
        present = [m for m in wanted if m in results.columns and results[m].notna().any()]
        if present:
            out[name] = _compare_metrics(results, present, baseline=baseline, seed=seed)
    return out


def write_report(
    runs: str | Path,
    out: str | Path | None = None,
    *,
    baseline: str = "none",
    rng: np.random.Generator | int = 0,
    dpi: int = 150,
    published: str | Path | None = None,
    progress: bool | None = None,
    seed: int | None = None,
) -> Path:
    """Write the Markdown report of the runs under ``runs``.

    Parameters
    ----------
    runs
        A folder of run directories (as written by ``run`` or ``run_batch``).
    out
        The report file (default ``<runs>/report.md``); figures go to ``<stem>_figures/``
        beside it.
    baseline
        The arm every other arm is compared with.
    rng
        The statistics' generator (bootstrap, ASO), or an ``int`` seed of one (as in SPEC 7);
        each section draws from a generator seeded by :func:`rng_seed` of it.
    seed
        Deprecated spelling of an ``int`` ``rng`` (works until the next release, with a
        ``FutureWarning``).
    dpi
        Resolution of the PNG figures.
    published
        Table of published numbers for the reproduction section (default: the shipped
        ``spcl_diag/data/published.csv``, which covers no built-in benchmark).
    progress
        Show a progress bar over the report's steps (a study of a thousand runs takes about
        20 s); by default when standard error is a terminal.

    Returns
    -------
    Path
        The report file.
    """
    if seed is not None:
        warnings.warn("write_report(seed=) is deprecated; use rng= (an int seed or a numpy Generator).",
                      FutureWarning, stacklevel=2)
        rng = seed
    seed = rng_seed(rng)
    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(total=6, desc="report", unit="step", disable=not show, leave=False) as bar:
        def step(what: str) -> None:
            bar.set_postfix_str(what)

        step("reading runs")
        tables = load_runs(runs)
        if tables.results.empty:
            raise FileNotFoundError(f"no runs under {runs}; nothing to report.")
        report = Path(out) if out is not None else Path(runs) / "report.md"
        report.parent.mkdir(parents=True, exist_ok=True)
        fig_dir = report.with_name(f"{report.stem}_figures")
        bar.update()
        step("comparisons")
        comparisons = comparison_tables(tables, baseline=baseline, seed=seed)
        bar.update()
        step("ranking")
        ranking_lines, ranking_figure = _ranking_section(tables, seed=seed)
        bar.update()
        step("figures")
        figures, left_out = _figures(tables, comparisons, ranking_figure)
        bar.update()
        step("meta-analysis")
        meta_lines, meta_figure = _meta_section(tables, baseline=baseline)
        figures.update(meta_figure)
        bar.update()
        step("saving figures")
        files = save_figures(figures, fig_dir, dpi=dpi)
        bar.update()
    lines = _header(tables, os.path.relpath(Path(runs).resolve(), report.parent.resolve()))
    lines += _comparison_section(comparisons, baseline)
    lines += _reproduction_section(tables, published)
    lines += _ranking_lines_with_figure(ranking_lines, files, report.parent)
    lines += meta_lines + _sequential_section(runs)
    lines += _figure_section(files, report.parent, left_out)
    lines += _inventory_section(tables)
    lines += _provenance_section(tables, runs)
    report.write_text("\n".join(lines) + "\n")
    return report


def report_figures(tables: RunTables, *, baseline: str = "none", seed: int = 0) -> tuple[dict[str, Figure], list[str]]:
    """Every figure of the report, by file stem, and why any were left out.

    The standard figures (:func:`spcl_diag.plots.standard_figures`), a forest plot of each
    :func:`comparison_tables` table (``forest_performance``, ``forest_imbalance``) and the
    critical-difference diagram (``cd_diagram``) and the meta-analysis forest plot when the runs
    span two cells or more: the
    set ``spcl-diag figures`` writes and :func:`write_report` links.
    """
    comparisons = comparison_tables(tables, baseline=baseline, seed=seed)
    figures, left_out = _figures(tables, comparisons, _ranking_section(tables, seed=seed)[1])
    figures.update(_meta_section(tables, baseline=baseline)[1])
    return figures, left_out


def _figures(tables: RunTables, comparisons: Mapping[str, pd.DataFrame],
             ranking_figure: Mapping[str, Figure]) -> tuple[dict[str, Figure], list[str]]:
    stat_tables = {k: v for k, v in comparisons.items() if not v.attrs.get("fallback")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        figures = standard_figures(tables, comparisons=stat_tables)
    figures.update(ranking_figure)
    return figures, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


# ----------------------------------------------------------------------------- sections
def _header(tables: RunTables, runs: str | Path) -> list[str]:
    results = tables.results
    ok = results[results["status"] == "ok"]
    arms = ", ".join(sorted(results["curriculum"].dropna().unique()))
    return [
        "# spcl_diag report",
        "",
        (
            f"Runs in `{runs}`: {len(results)} ({len(ok)} finished, {len(results) - len(ok)} failed); "
            f"arms {arms}; {results['seed'].nunique()} seeds. Written "
            f"{_dt.datetime.now().isoformat(timespec='seconds')} by spcl_diag {__version__}."
        ),
        "",
    ]


def _comparison_section(comparisons: Mapping[str, pd.DataFrame], baseline: str) -> list[str]:
    lines = ["## Comparisons with the baseline", ""]
    if not comparisons:
        return [*lines, "No metric to compare (no finished runs with test metrics).", ""]
    fallback = any(t.attrs.get("fallback") for t in comparisons.values())
    if fallback:
        lines += [f"> {next(iter(comparisons.values())).attrs['fallback']} The tables show mean and sd over seeds.", ""]
    else:
        lines += [
            (
                f"Every arm against `{baseline}`, paired by seed within each dataset, backbone and modality set "
                "(`spcl_diag.stats.compare`): mean with 95% Student-t interval over seeds (the baseline's own "
                "row first), paired difference (arm - baseline) with its interval, exact Wilcoxon signed-rank "
                "p-value, Holm-corrected within each metric. Lower is better for disparity ratios. One table "
                "per metric, as `spcl-diag compare --markdown` writes it (footnote symbols mark significance and "
                "rows whose test and interval disagree); the verdict below each table says when the number of "
                "seeds cannot reach significance at all, and its note (with the Hodges-Lehmann shift) where the "
                "test and the interval of the mean disagree."
            ),
            "",
        ]
    for name, table in comparisons.items():
        lines += [f"### {name.capitalize()}", ""]
        if table.attrs.get("fallback"):
            lines += [markdown_table(table), ""]
            continue
        for metric, part in table.groupby("metric", sort=False):
            lines += [to_markdown(part), ""]
            lines += [f"- {_row_label(row)}: {row['verdict']}" + (f". Note: {row['note']}" if row["interval_disagrees"] else "")
                      for row in part.to_dict("records")]
            lines.append("")
    return lines


def _reproduction_section(tables: RunTables, published: str | Path | None) -> list[str]:
    from spcl_diag.stats.reproduction import reproduce

    try:
        table = reproduce(tables, published)
    except ValueError as err:
        return ["## Reproduction of published numbers", "", f"Not computed: {err}", ""]
    if table.empty:
        return []
    shown = table[["backbone", "dataset", "modalities", "arm", "metric", "published", "n_runs", "n_seeds", "mean",
                   "pi_low", "pi_high", "p_adjusted", "seeds_to_resolve", "verdict", "source"]]
    return [
        "## Reproduction of published numbers",
        "",
        ("Our mean over seeds (percent) and the 95% prediction interval of the published value (one run, or the "
         "mean of `n_runs` runs), a two-sample t test of the published value against our seeds, Holm-corrected "
         "over the cells, and the seeds that would resolve a gap of that size (`spcl_diag.reproduce`)."),
        "",
        markdown_table(shown, digits=3),
        "",
    ]


def _ranking_section(tables: RunTables, *, seed: int, metric: str = "test_wf1") -> tuple[list[str], dict[str, Figure]]:
    results = tables.results
    cells = [c for c in GROUP_COLUMNS if c in results]
    ok = results[results["status"] == "ok"] if "status" in results else results
    if metric not in ok or ok.groupby(cells).ngroups < 2 or ok["curriculum"].nunique() < 2:
        return [], {}
    lines = ["## Ranking across cells", ""]
    try:
        from spcl_diag.plots.ranking import cd_diagram
        from spcl_diag.stats.ranking import MIN_BAYESIAN_CELLS, rank_arms, ranking_table

        ranking = rank_arms(tables, metric, rng=np.random.default_rng(seed), cells=cells)
    except ImportError as err:
        return [*lines, f"Not computed: {err.name} is not installed (`pip install spcl_diag[ranking]`).", ""], {}
    except ValueError as err:
        return [*lines, f"Not computed: {err}", ""], {}
    ranks = ", ".join(f"{arm} {rank:.2f}" for arm, rank in ranking.mean_ranks.items())
    lines += [
        (f"Arms ranked by {metric} in each of {len(ranking.scores)} cells (dataset x backbone x modalities; cell "
         f"score = mean over the seeds every arm finished). Mean ranks (1 = best): {ranks}. {ranking.method}: "
         f"{ranking.verdict}" + (f", critical difference {ranking.critical_difference:.3g} (autorank)"
                                 if np.isfinite(ranking.critical_difference) else "") + ". "
         f"Pairs: Bayesian signed-rank test with rope {ranking.rope:g} (baycomp), decided at P > 0.95, over "
         f"{len(ranking.scores)} cells (not run below {MIN_BAYESIAN_CELLS})."),
        "",
        markdown_table(ranking_table(ranking)),
        "",
        *[f"- {note}" for note in ranking.notes],
    ]
    fig, ax = plt.subplots(figsize=(6.0, 2.4))
    cd_diagram(ranking, ax=ax)
    return [*lines, ""] if ranking.notes else lines, {"cd_diagram": fig}


def _meta_section(tables: RunTables, *, baseline: str, arm: str = "spcl",
                  metric: str = "test_wf1") -> tuple[list[str], dict[str, Figure]]:
    """Random-effects meta-analysis of ``arm`` over the cells, when the folder holds two or more."""
    from spcl_diag.plots.meta_forest import plot_meta_forest
    from spcl_diag.stats.meta_analysis import meta_analysis, meta_table

    results = tables.results
    cells = [c for c in GROUP_COLUMNS if c in results]
    ok = results[results["status"] == "ok"] if "status" in results else results
    if metric not in ok or ok.groupby(cells).ngroups < 2 or not {arm, baseline} <= set(ok["curriculum"].astype(str)):
        return [], {}
    lines = [f"## Does `{arm}` help in general? Meta-analysis over cells", ""]
    try:
        result = meta_analysis(tables, metric, baseline, arm, cells=cells)
    except ValueError as err:
        return [*lines, f"Not computed: {err}", ""], {}
    lines += [
        (f"{result.summary()}. DerSimonian-Laird random-effects model over the cells (dataset x backbone x "
         "modalities), each cell's effect the mean seed-paired difference with variance s^2/n "
         "(`spcl_diag.stats.meta_analysis`). The pooled effect is an average over these cells; it speaks for "
         "cells in general only if they are exchangeable (docs/statistics.md). The prediction interval is the "
         "range expected for the effect in a new cell."),
        "", markdown_table(meta_table(result).drop(columns="kind"), digits=4), "",
        "Leave one cell out:", "", markdown_table(result.leave_one_out, digits=4), "",
        *[f"- {note}" for note in result.notes],
    ]
    fig, ax = plt.subplots(figsize=(5.5, 2.2 + 0.32 * result.pooled.k))
    plot_meta_forest(meta_table(result), xlabel=f"{column_label(metric)}: {arm} - {baseline}", ax=ax)
    return [*lines, "", "See the forest plot `meta_forest` below.", ""], {"meta_forest": fig}


def _sequential_section(runs: str | Path) -> list[str]:
    """The decisions of a ``batch --until-decided`` (its ``sequential.json``), valid and fixed-n intervals side by side."""
    from spcl_diag.batch.sequential import read_sequential

    record = read_sequential(runs)
    if not record:
        return []
    numbers = {"estimate": "estimate", "sequence low": "low", "sequence high": "high", "fixed-n t low": "t_low",
               "fixed-n t high": "t_high"}  # null in the JSON: no value (no paired seed)
    rows = [{"cell": "/".join(str(c[k]) for k in ("dataset", "backbone", "modalities", "balancing")),
             "arm": c["arm"], "seeds": c["n_seeds"], "decision": c["decision"],
             **{name: float("nan") if c.get(key) is None else float(c[key]) for name, key in numbers.items()}}
            for c in record["comparisons"]]
    return [
        "## Sequential seeds (`batch --until-decided`)", "",
        (f"Seeds were added {record['seeds_per_round']} per round to every comparison with `{record['baseline']}` "
         f"on {record['metric']} that was still undecided (at most {record['max_seeds']}; rope {record['rope']:g}). "
         "The decision and the *sequence* interval (anytime-valid confidence sequence, Waudby-Smith & Ramdas 2024, "
         f"each comparison at alpha {record['alpha_per_comparison']:.3g}) are valid however often the batch looked; "
         "the fixed-n t interval at the same level is shown for comparison only and is **not** valid for this "
         "design, which peeked after every round."),
        "", markdown_table(pd.DataFrame(rows), digits=4), "",
    ]


def _ranking_lines_with_figure(lines: list[str], files: Iterable[Path], base: Path) -> list[str]:
    cd = [p for p in files if p.stem == "cd_diagram"]
    if not lines or not cd:
        return lines
    return [*lines, f"![cd_diagram]({cd[0].relative_to(base).as_posix()})", "", f"*{FIGURE_CAPTIONS['cd_diagram']}*", ""]


def _row_label(row: Mapping[str, object]) -> str:
    groups = ", ".join(str(row[c]) for c in (*GROUP_COLUMNS, "balancing") if c in row and isinstance(row[c], str))
    return f"`{row['arm']}` ({groups})" if groups else f"`{row['arm']}`"


def _figure_section(files: Iterable[Path], base: Path, left_out: Sequence[str]) -> list[str]:
    lines = ["## Figures", ""]
    for path in files:
        if path.stem == "cd_diagram":
            continue  # shown in the ranking section
        caption = FIGURE_CAPTIONS.get(path.stem, _forest_caption(path.stem))
        lines += [f"![{path.stem}]({path.relative_to(base).as_posix()})", "", f"*{caption}*", ""]
    lines += [f"- not drawn: {message}" for message in left_out]
    return [*lines, ""] if left_out else lines


def _inventory_section(tables: RunTables) -> list[str]:
    results = tables.results
    keys = [k for k in (*GROUP_COLUMNS, "curriculum", "balancing") if k in results]
    inventory = (
        results.groupby(keys, dropna=False)
        .agg(
            finished=("status", lambda s: int((s == "ok").sum())),
            failed=("status", lambda s: int((s != "ok").sum())),
            seeds=("seed", lambda s: ", ".join(map(str, sorted(s.unique())))),
            mean_wall_s=("wall_seconds", "mean"),
        )
        .reset_index()
    )
    lines = ["## Run inventory", "", markdown_table(inventory, digits=3), ""]
    failed = results[results["status"] != "ok"]
    if not failed.empty:
        lines += ["Failed runs (traceback in each run's `error.txt`):", ""]
        for row in failed.itertuples(index=False):
            error = Path(row.path) / rd.ERROR
            last = error.read_text().strip().splitlines()[-1] if error.is_file() else "no error.txt"
            lines.append(f"- `{row.run_id}` ({row.curriculum}, seed {row.seed}): {last}")
        lines.append("")
    return lines


def _provenance_section(tables: RunTables, runs: str | Path) -> list[str]:
    import torch

    grids = recorded_grids(runs)
    lines = ["## Grid and versions", ""]
    if grids:
        for grid in grids:
            lines += ["```json", json.dumps(_without_machine_paths(grid), indent=2, sort_keys=True), "```", ""]
    else:
        lines += ["No grid recorded (runs not started by `run_batch`); the axes found in the runs:", ""]
        observed = {k: sorted(map(str, tables.results[k].dropna().unique())) for k in (*GROUP_COLUMNS, "curriculum", "seed")}
        lines += ["```json", json.dumps(observed, indent=2), "```", ""]
    commits = sorted(map(str, tables.results.get("git_commit", pd.Series(dtype=object)).dropna().unique()))
    versions = sorted(map(str, tables.results.get("package_version", pd.Series(dtype=object)).dropna().unique()))
    lines += [
        (
            f"- spcl_diag {__version__} (runs written by {', '.join(versions) or 'unknown'}; git commit "
            f"{', '.join(commits) or 'unknown'})"
        ),
        *_plugin_lines(tables.results),
        f"- Python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}, pandas {pd.__version__}",
        "",
    ]
    return lines


def _plugin_lines(results: pd.DataFrame) -> list[str]:
    """``- plugins: `name` source <hash> (n runs); ...``: the plugin code the runs ran (its source hash is part
    of the run id, :func:`spcl_diag.plugins.plugin_sources`), with the plugins whose runs mix versions."""
    counts: Counter[tuple[str, str]] = Counter()
    for text in results.get("plugin_sources", pd.Series(dtype=object)).dropna():
        for item in str(text).split(","):
            name, _, digest = item.partition("=")
            counts[name, digest] += 1
    if not counts:
        return []
    line = "- plugins: " + "; ".join(f"`{name}` source {digest} ({n} run{'s' * (n != 1)})"
                                     for (name, digest), n in sorted(counts.items()))
    mixed = sorted({name for name, _ in counts if sum(1 for other, _ in counts if other == name) > 1})
    if mixed:
        line += (f". Runs of {', '.join(f'`{m}`' for m in mixed)} ran more than one version of its source: compare "
                 "them apart (`spcl-diag compare ... --by plugin_sources`)")
    return [line]


# ------------------------------------------------------------------------------ helpers
def _without_machine_paths(value: Any) -> Any:
    """``value`` with every absolute path replaced by its file name: a report names no folder of the
    machine it was written on (a dataset file ``/home/x/data/meld.pkl`` reads ``meld.pkl``)."""
    if isinstance(value, dict):
        return {k: _without_machine_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_machine_paths(v) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        return Path(value).name
    return value


def _compare_metrics(results: pd.DataFrame, metrics: Sequence[str], *, baseline: str, seed: int) -> pd.DataFrame:
    """:func:`~spcl_diag.stats.multi_metric.compare_metrics` grouped by the cell columns that vary; mean and sd when it cannot test."""
    by = [c for c in (*GROUP_COLUMNS, "balancing") if c in results and results[c].nunique() > 1]
    try:
        from spcl_diag.stats import multi_metric
    except ImportError:
        return _mean_sd(results, metrics, by, "spcl_diag.stats.compare is not available, so no tests were run.")
    if baseline not in set(results["curriculum"]):
        return _mean_sd(results, metrics, by, f"No `{baseline}` runs to compare with, so no tests were run.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return multi_metric.compare_metrics(results, metrics, baseline=baseline, by=by,
                                                rng=np.random.default_rng(seed))
    except ValueError as err:  # e.g. runs that differ in a setting outside the grouping columns
        return _mean_sd(results, metrics, by, f"compare() refused these runs ({err}).")


def _mean_sd(results: pd.DataFrame, metrics: Sequence[str], by: list[str], reason: str) -> pd.DataFrame:
    long = results.melt(id_vars=[*by, "curriculum", "seed"], value_vars=list(metrics), var_name="metric")
    table = long.groupby(["metric", *by, "curriculum"], sort=False)["value"].agg(n_seeds="count", mean="mean", sd="std").reset_index()
    table.attrs["fallback"] = reason
    return table


def _forest_caption(stem: str) -> str:
    return (
        f"Difference to the baseline ({stem.removeprefix('forest_')} metrics) with 95% interval over seeds; "
        "filled markers: Holm-corrected p < 0.05."
    )

