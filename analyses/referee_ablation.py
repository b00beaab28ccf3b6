"""Referee ablation: spcl vs spcl-utterance vs spcl-conversation vs random vs none.

Performance (test weighted-F1) and imbalance (unimodal weighted-F1 of the weaker modalities,
text's disparity ratio) of each arm against ``none``, seed-paired and Holm-corrected.
Writes ``figures/referee_ablation.md`` and ``figures/referee_ablation.png``.
"""

from __future__ import annotations

from _common import compare_metrics, parser, run_grid, save, write_markdown

from spcl_diag.plots import forest_figure
from spcl_diag.stats.tables import markdown_table

ARMS = ("none", "spcl", "spcl-utterance", "spcl-conversation", "random")
METRICS = ("test_wf1", "test_wf1_a", "test_wf1_v", "test_disparity_ratio_t")
SHOWN = ["backbone", "metric", "arm", "n_seeds", "mean", "diff", "diff_low", "diff_high", "p_adjusted", "verdict"]


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    tables = run_grid(args, modalities=("tav",), arms=ARMS)
    results = tables.results[tables.results["status"] == "ok"]
    comparison = compare_metrics(results, METRICS, by=("backbone",))
    write_markdown(
        f"# Referee ablation ({args.dataset}, tav, {args.seeds} seeds)\n\nEach arm minus `none`, paired by seed; "
        "exact Wilcoxon p-values, Holm-corrected within each metric. Lower is better for the disparity ratio.\n\n"
        + markdown_table(comparison[SHOWN]) + "\n",
        args.figures, "referee_ablation",
    )
    fig = forest_figure(comparison, title="referee ablation: difference to none (tav)",
                        label_by=["metric", "arm"], xlabel="arm minus none")
    save(fig, args.figures, "referee_ablation")


if __name__ == "__main__":
    main()
