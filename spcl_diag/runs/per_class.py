"""Per-class modality diagnostics of one finished run, read from its run directory.

:func:`per_class_tables` reads ``predictions.npz`` (test labels, the joint probabilities
with each modality subset intact, each modality head's probabilities at the selected epoch)
and ``difficulty.npz`` (training labels and keep flags) and hands them to the pure functions
:func:`~spcl_diag.metrics.per_class.per_class_contribution` and
:func:`~spcl_diag.metrics.per_class.kept_by_class`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from spcl_diag.metrics.per_class import kept_by_class, per_class_contribution
from spcl_diag.runs import directory as rd
from spcl_diag.runs.loading import load_difficulty, load_predictions

MASKED_PREFIX = "test_masked_probs_"


@dataclass(frozen=True)
class PerClassTables:
    """The two tidy tables of :func:`per_class_tables`."""

    contribution: pd.DataFrame  # class, class_name, n, modality, metric (shapley_acc | unimodal_acc), value
    kept: pd.DataFrame  # epoch, class, class_name, n, kept_fraction


def per_class_tables(run_dir: str | Path) -> PerClassTables:
    """Per-class Shapley contribution and unimodal accuracy on test, and kept fraction per epoch.

    Raises
    ------
    FileNotFoundError
        When the run is not finished, or was written before the masked predictions were
        stored (``predictions.npz`` without ``test_masked_probs_*``: re-run it), or has a
        single modality.

    Examples
    --------
    ```python
    from spcl_diag import RunConfig, per_class_tables, run

    small = {"train.epochs": 2, "data.synthetic.n_dialogues": 12, "model.hidden_dim": 16}
    result = run(RunConfig(curriculum="spcl").with_overrides(small), "runs")
    tables = per_class_tables(result.path)
    sorted(tables.contribution["metric"].unique())  # ['shapley_acc', 'unimodal_acc']
    tables.kept["epoch"].max()  # 1, the second of the two epochs
    ```
    """
    path = Path(run_dir)
    if not rd.is_complete(path):
        raise FileNotFoundError(f"{path}: not a finished run (result.json status is not 'ok' or files are missing).")
    preds = load_predictions(path)
    config = rd.read_json(path / rd.CONFIG)
    modalities = str(config["config"]["modalities"])
    names = config.get("dataset_summary", {}).get("label_names")
    masked = {key.removeprefix(MASKED_PREFIX): preds[key] for key in preds if key.startswith(MASKED_PREFIX)}
    if not masked:
        why = "it has one modality" if len(modalities) == 1 else "it was written before masked predictions were stored; re-run it"
        raise FileNotFoundError(f"{path / rd.PREDICTIONS}: no test_masked_probs_* arrays ({why}).")
    subsets = {("" if key == "none" else key): probs for key, probs in masked.items()}
    n_classes = preds["test_probs_joint"].shape[1]
    contribution = per_class_contribution(
        preds["test_labels"], subsets, unimodal_predictions={m: preds[f"test_probs_{m}"] for m in modalities},
        class_names=names, n_classes=n_classes,
    )
    difficulty = load_difficulty(path)
    kept = kept_by_class(difficulty["label"], difficulty["v"], class_names=names, n_classes=n_classes)
    return PerClassTables(contribution, kept)


__all__ = ["PerClassTables", "per_class_tables"]
