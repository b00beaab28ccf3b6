"""Paper table: backbones x modality sets x arms, weighted-F1 and accuracy over seeds.

Mean and 95% t-interval over seeds of test weighted-F1 and accuracy for every backbone,
modality set and arm, with the seed-paired difference to ``none`` and its Holm-corrected
p-value (``spcl_diag.stats.compare``). Writes ``figures/paper_table.md``, the weighted-F1
comparison as a booktabs table ``figures/paper_table.tex``, ``figures/paper_forest.png``,
``figures/paper_pair_gap.png`` and the IQM / probability-of-improvement summary over every
cell ``figures/paper_aggregate.png``.

    python analyses/paper_table.py --backbones late_fusion mmgcn --seeds 5
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from _common import ci_text, compare_metrics, parser, run_grid, save, write_markdown

from spcl_diag.plots import aggregate_figure, forest_figure, pair_gap_figure
from spcl_diag.stats.paper_table import to_booktabs
from spcl_diag.stats.tables import markdown_table

MODALITY_SETS = ("tav", "ta", "tv", "av")
ARMS = ("none", "spcl", "random")


def paper_table(results: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """One row per backbone, modality set and arm."""
    rows = []
    for (backbone, modalities, arm), group in results.groupby(["backbone", "modalities", "curriculum"]):
        row = {"backbone": backbone, "modalities": modalities, "arm": arm, "seeds": len(group)}
        for metric in ("test_wf1", "test_acc"):
            match = comparison[(comparison["backbone"] == backbone) & (comparison["modalities"] == modalities)
                               & (comparison["arm"] == arm) & (comparison["metric"] == metric)]
            name = metric.removeprefix("test_")
            if match.empty:  # the baseline itself
                row[name] = f"{group[metric].mean():.3f} (sd {group[metric].std():.3f})"
                row[f"{name} diff"] = row[f"{name} p_holm"] = ""
            else:
                m = match.iloc[0]
                row[name] = ci_text(m["mean"], m["ci_low"], m["ci_high"])
                row[f"{name} diff"] = ci_text(m["diff"], m["diff_low"], m["diff_high"])
                row[f"{name} p_holm"] = f"{m['p_adjusted']:.3g}"
        rows.append(row)
    order = {arm: i for i, arm in enumerate(ARMS)}
    table = pd.DataFrame(rows)
    return table.sort_values(["backbone", "modalities", "arm"], key=lambda s: s.map(order) if s.name == "arm" else s)


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    tables = run_grid(args, modalities=MODALITY_SETS, arms=ARMS)
    results = tables.results[tables.results["status"] == "ok"]
    comparison = compare_metrics(results, ["test_wf1", "test_acc"], by=("backbone", "modalities"))
    table = paper_table(results, comparison)
    write_markdown(
        f"# Paper table ({args.dataset}, {args.seeds} seeds)\n\nTest weighted-F1 and accuracy: mean [95% t-interval] "
        "over seeds; difference to `none` paired by seed; exact Wilcoxon p-value, Holm-corrected over each metric's "
        "comparisons.\n\n" + markdown_table(table) + "\n",
        args.figures, "paper_table",
    )
    wf1 = comparison[comparison["metric"] == "test_wf1"]
    tex = Path(args.figures) / "paper_table.tex"
    tex.write_text(to_booktabs(wf1, label="tab:wf1") + "\n")
    print(f"wrote {tex}")
    save(aggregate_figure(results, rng=np.random.default_rng(0)), args.figures, "paper_aggregate")
    save(forest_figure(wf1, title="test weighted-F1: difference to none", label_by=["backbone", "modalities", "arm"]),
         args.figures, "paper_forest")
    save(pair_gap_figure(results), args.figures, "paper_pair_gap")


if __name__ == "__main__":
    main()
