"""Rankings across cells and per-class diagnostics on the synthetic benchmark.

* ``figures/cd_diagram.png`` and ``figures/ranking.md``: arms ranked by test weighted-F1 over
  the cells (modality sets) of a late-fusion batch (Friedman + Nemenyi, Bayesian signed-rank);
* ``figures/per_class.png``: per-class Shapley contribution, unimodal accuracy and kept
  fraction of one spcl run.
"""

from __future__ import annotations

import numpy as np
from _common import parser, run_grid, save, write_markdown

from spcl_diag.plots import cd_diagram, per_class_figure
from spcl_diag.runs.per_class import per_class_tables
from spcl_diag.stats import rank_arms, ranking_table
from spcl_diag.stats.tables import markdown_table

MODALITY_SETS = ("tav", "ta", "tv", "av", "t")
ARMS = ("none", "spcl", "random")


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    tables = run_grid(args, modalities=MODALITY_SETS, arms=ARMS)
    ranking = rank_arms(tables, "test_wf1", rng=np.random.default_rng(0), cells=("backbone", "modalities"))
    ranks = ", ".join(f"{arm} {rank:.2f}" for arm, rank in ranking.mean_ranks.items())
    write_markdown(
        f"# Ranking across cells ({args.dataset}, {', '.join(args.backbones)}, {len(ranking.scores)} modality sets, "
        f"{args.seeds} seeds)\n\nMean ranks by test weighted-F1 (1 = best): {ranks}. {ranking.method}: "
        f"p = {ranking.friedman_p:.3g}, critical difference {ranking.critical_difference:.3g}.\n\n"
        + markdown_table(ranking_table(ranking)) + "\n" + "".join(f"\n- {n}" for n in ranking.notes) + "\n",
        args.figures, "ranking",
    )
    save(cd_diagram(ranking).figure, args.figures, "cd_diagram")  # type: ignore[arg-type]
    results = tables.results
    run_dir = results.query("curriculum == 'spcl' and modalities == 'tav' and seed == 0")["path"].iloc[0]
    per_class = per_class_tables(run_dir)
    save(per_class_figure(per_class.contribution, per_class.kept), args.figures, "per_class")


if __name__ == "__main__":
    main()
