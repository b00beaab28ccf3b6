"""Balancing baselines x curriculum: every balancing method with and without SPCL, and their interaction.

A factorial grid on the synthetic benchmark with text strong and audio weak (informativeness
t 1, a 0.3; modalities ``ta``; late fusion): balancing in {none, ogm-ge, ada2i, uni-aux,
g-blending, pmr, agm, mmpareto} x curriculum in {none, spcl}, seeds paired across all cells.
Per cell: test accuracy of each modality's head, text's disparity ratio and the joint test
weighted-F1, each as a mean with a Student-t 95% interval over seeds; per method: the
interaction contrast (spcl+X - X) - (spcl - none) of test weighted-F1 with its interval and
paired t test. Writes ``figures/balancing_table.md`` and ``figures/balancing_table.png``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _common import FIGURES, ci_text, save, write_markdown

from spcl_diag import RunTables, load_runs
from spcl_diag.batch import Grid, run_batch
from spcl_diag.config.schema import BALANCING_METHODS
from spcl_diag.stats import interaction, t_interval
from spcl_diag.stats.tables import markdown_table

CELL_METRICS = {"test_acc_t": "acc t", "test_acc_a": "acc a", "test_disparity_ratio_t": "disparity t",
                "test_wf1": "test wF1"}
# small synthetic runs: 80 runs in about ten minutes of two CPU cores
OVERRIDES: dict[str, object] = {
    "train.epochs": 6, "train.batch_size": 8, "train.lr": 3e-3,
    "model.hidden_dim": 16, "model.feedforward_dim": 32,
    "data.synthetic.n_dialogues": 40, "data.synthetic.min_length": 3, "data.synthetic.max_length": 10,
    "data.synthetic.informativeness": {"t": 1.0, "a": 0.3, "v": 0.1},
}


def run_grid(runs: str, seeds: int, jobs: int) -> RunTables:
    grid = Grid(modalities=("ta",), curriculum=("none", "spcl"), balancing=BALANCING_METHODS,
                seed=tuple(range(seeds)), overrides=OVERRIDES)
    print(run_batch(grid, runs, jobs=jobs, device="cpu").line())
    tables = load_runs(runs)
    ids = {c.resolved().run_id() for c in grid.configs()}
    return RunTables(tables.results[tables.results["run_id"].isin(ids)], tables.epochs[tables.epochs["run_id"].isin(ids)])


def cell_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (balancing, curriculum): mean [95% t interval] of each cell metric."""
    rows = []
    for method in BALANCING_METHODS:
        for arm in ("none", "spcl"):
            cell = results[(results.balancing == method) & (results.curriculum == arm)]
            row = {"balancing": method, "curriculum": arm, "n": len(cell)}
            for column, label in CELL_METRICS.items():
                ci = t_interval(cell[column].to_numpy(float))
                row[label] = ci_text(ci.estimate, ci.low, ci.high)
                row[f"_{column}"] = (ci.estimate, ci.low, ci.high)
            rows.append(row)
    return pd.DataFrame(rows)


def interaction_table(results: pd.DataFrame) -> pd.DataFrame:
    parts = [interaction(results, "test_wf1", b=("balancing", "none", method), rng=np.random.default_rng(0))
             .assign(balancing=method) for method in BALANCING_METHODS[1:]]
    return pd.concat(parts, ignore_index=True)


def figure(cells: pd.DataFrame, contrasts: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), sharey=True)
    y = np.arange(len(BALANCING_METHODS))
    for ax, column in zip(axes[:2], ("test_wf1", "test_acc_a")):
        for shift, arm, colour in ((-0.15, "none", "#777777"), (0.15, "spcl", "#1f77b4")):
            values = np.array([cells.set_index(["balancing", "curriculum"]).loc[(m, arm), f"_{column}"] for m in BALANCING_METHODS])
            ax.errorbar(values[:, 0], y + shift, xerr=[values[:, 0] - values[:, 1], values[:, 2] - values[:, 0]],
                        fmt="o", color=colour, capsize=3, label=f"curriculum {arm}")
        ax.set_xlabel(f"{CELL_METRICS[column]} (mean, 95% t interval)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=9, bbox_to_anchor=(0.33, -0.06))
    ordered = contrasts.set_index("balancing").reindex(list(BALANCING_METHODS[1:]))
    rows = y[1:]
    axes[2].errorbar(ordered["interaction"], rows, xerr=[ordered["interaction"] - ordered["ci_low"],
                     ordered["ci_high"] - ordered["interaction"]], fmt="s", color="#d62728", capsize=3)
    axes[2].axvline(0, color="black", lw=0.8)
    axes[2].set_xlabel("interaction: (spcl+X - X) - (spcl - none), test wF1")
    axes[0].set_yticks(y, BALANCING_METHODS)
    axes[0].invert_yaxis()
    fig.suptitle("Balancing methods x SPCL on synthetic (t strong, a weak), late fusion, ta")
    fig.tight_layout()
    return fig


def main() -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", default="runs/balancing_table", help="folder of run directories")
    p.add_argument("--figures", default=str(FIGURES), help="where the table and figure go (default: figures/)")
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=2, help="runs at once (default: %(default)s)")
    args = p.parse_args()
    results = run_grid(args.runs, args.seeds, args.jobs).results
    failed = results[results["status"] != "ok"]
    if len(failed):
        raise SystemExit(f"{len(failed)} runs failed, e.g. {failed.iloc[0]['run_id']}; see error.txt in {args.runs}.")
    cells, contrasts = cell_table(results), interaction_table(results)
    shown = ["balancing", "a", "n_seeds", "effect_a_at_b0", "effect_a_at_b1", "interaction", "ci_low", "ci_high", "p", "verdict"]
    write_markdown(
        f"# Balancing methods x curriculum (synthetic, t 1 / a 0.3, ta, late fusion, {args.seeds} seeds)\n\n"
        "Test metrics at the best dev epoch: mean [95% Student-t interval] over seeds. `acc t`/`acc a`: accuracy "
        "of each modality's head; `disparity t`: text's disparity ratio (lower is more balanced).\n\n"
        + markdown_table(cells[["balancing", "curriculum", "n", *CELL_METRICS.values()]])
        + "\n\nInteraction contrast of test weighted-F1 per method X, per seed (spcl+X - X) - (spcl - none): "
        "`effect_a_at_b0` is SPCL's effect without balancing, `effect_a_at_b1` with X; paired t test.\n\n"
        + markdown_table(contrasts[shown]) + "\n",
        args.figures, "balancing_table",
    )
    save(figure(cells, contrasts), args.figures, "balancing_table")


if __name__ == "__main__":
    main()
