"""Random-order control: is SPCL's gain its order, or training on fewer samples?

``random`` keeps exactly as many utterances per batch as the paired ``spcl`` run, chosen at
random; ``anti`` keeps the hardest ones. Writes ``figures/random_order_curriculum.png``
(difficulty trajectories and kept fractions), ``figures/random_order_accuracy.png``
(per-modality dev accuracy per arm) and ``figures/random_order_forest.png``.
"""

from __future__ import annotations

from _common import compare_metrics, parser, run_grid, save

from spcl_diag.plots import curriculum_figure, forest_figure, modality_curves

ARMS = ("none", "spcl", "random", "anti")


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    tables = run_grid(args, modalities=("tav",), arms=ARMS)
    first = tables.results["backbone"].min()
    one = tables.results[tables.results["backbone"] == first]
    epochs = tables.epochs[tables.epochs["run_id"].isin(one["run_id"])]
    save(curriculum_figure(type(tables)(one, epochs)), args.figures, "random_order_curriculum")
    save(modality_curves(epochs, metric="acc", split="dev"), args.figures, "random_order_accuracy")
    comparison = compare_metrics(tables.results[tables.results["status"] == "ok"], ["test_wf1", "test_acc"], by=("backbone",))
    save(forest_figure(comparison, title="random-order control: difference to none", label_by=["backbone", "metric", "arm"]),
         args.figures, "random_order_forest")


if __name__ == "__main__":
    main()
