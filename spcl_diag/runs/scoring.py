"""Score a saved run again: on another feature file of the same format, with modalities masked,
or with linear probes. What ``spcl-diag evaluate`` and ``spcl-diag probe`` call.

Both read the run's ``model.pt`` (:mod:`spcl_diag.evaluation.checkpoint`) and rebuild its
dataset from the run's config unless another one is given; results are written beside the
run's own files, never over them: ``evaluations/<name>.json`` and ``probe.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from spcl_diag.config.seeds import RunSeeds
from spcl_diag.data.batching import DeviceSplit, resolve_device
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.data.registry import resolve_dataset
from spcl_diag.evaluation.checkpoint import Checkpoint, check_dataset, load_checkpoint
from spcl_diag.evaluation.masking import MaskValue, masked_evaluation
from spcl_diag.evaluation.probe import probe_scores
from spcl_diag.metrics.classification import scope_scores
from spcl_diag.modalities import parse_modalities
from spcl_diag.runs.directory import EVALUATIONS, PROBE


def checkpoint_dataset(checkpoint: Checkpoint, dataset: str | None = None) -> ConversationDataset:
    """The run's own dataset (rebuilt from its config), or the feature file ``dataset``, checked against the model."""
    config = checkpoint.config
    data = resolve_dataset(
        dataset or config.dataset, config.data, modalities=config.modalities,
        seed=RunSeeds.from_seed(config.seed).dev_split,
    )
    check_dataset(checkpoint, data)
    return data


def _splits(data: ConversationDataset, device: torch.device | str, names: tuple[str, ...]) -> dict[str, DeviceSplit]:
    splits = {name: DeviceSplit(data, name, device) for name in names}
    return {name: s for name, s in splits.items() if s.n_dialogues > 0}


def evaluate_run(
    run_dir: str | Path,
    *,
    dataset: str | None = None,
    mask: str = "",
    mask_value: MaskValue = "mean",
    device: torch.device | str = "auto",
    write: bool = True,
) -> dict[str, Any]:
    """Scores of a saved run's model on dev and test, joint and per modality, with per-class F1.

    Parameters
    ----------
    run_dir
        A run directory with ``model.pt``.
    dataset
        A feature file of the same format (same modalities, widths and classes); default:
        the run's own dataset.
    mask
        Modalities to mask, e.g. ``"av"`` or ``"a,v"``: their inputs are replaced by the mean
        training feature (``mask_value="mean"``) or zeros, as in
        :func:`~spcl_diag.evaluation.masking.masked_evaluation`.
    mask_value
        ``"mean"`` or ``"zero"``.
    device
        Where to run the model: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda:1"``, ...
    write
        Write ``<run_dir>/evaluations/<dataset>[-mask-<m>].json``.

    Returns
    -------
    dict
        ``{"run_id", "dataset", "mask", "dev": {scope: scores}, "test": {scope: scores}}``
        with the scores of ``result.json`` (``wf1``, ``macro_f1``, ``f1_class_<name>``, ...).

    Examples
    --------
    Scoring the saved model again gives the run's own test score; masking audio and visual
    scores the text alone:

    ```python
    from spcl_diag import RunConfig, evaluate_run, run

    small = {"train.epochs": 1, "data.synthetic.n_dialogues": 12, "model.hidden_dim": 8}
    result = run(RunConfig().with_overrides(small), "runs")
    again = evaluate_run(result.path, write=False)
    again["test"]["joint"]["wf1"] - result.result["test"]["joint"]["wf1"]  # 0.0, up to float rounding
    text_only = evaluate_run(result.path, mask="a,v", write=False)
    text_only["mask"], text_only["test"]["joint"]["wf1"]  # ('av', ...)
    ```
    """
    device = resolve_device(device)
    checkpoint = load_checkpoint(run_dir, device=device)
    model = checkpoint.model
    masked = parse_modalities(mask.replace(",", "")) if mask.replace(",", "") else ""
    if set(masked) - set(model.modalities):
        raise ValueError(f"--mask {mask!r} names modalities the model lacks; it has {model.modalities!r}.")
    data = checkpoint_dataset(checkpoint, dataset)
    splits = _splits(data, device, ("train", "dev", "test"))
    if mask_value == "mean" and masked and "train" not in splits:
        raise ValueError(f"{data.name} has no train split to take mean features from; use mask_value='zero'.")
    kept = "".join(m for m in model.modalities if m not in masked)
    batch_size = checkpoint.config.train.eval_batch_size
    out: dict[str, Any] = {
        "run_id": checkpoint.run_id, "dataset": dataset or checkpoint.config.dataset,
        "dataset_fingerprint": data.fingerprint(), "mask": masked, "mask_value": mask_value if masked else None,
    }
    for name in ("dev", "test"):
        if name not in splits:
            continue
        preds = masked_evaluation(model, splits[name], [kept], batch_size=batch_size, mask_value=mask_value,
                                  reference=splits.get("train"))[kept]
        out[name] = scope_scores(preds.probs, preds.labels, data.label_names)
    if write:
        path = evaluation_path(run_dir, str(out["dataset"]), masked)
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    return out


def evaluation_path(run_dir: str | Path, dataset: str, masked: str) -> Path:
    """Where :func:`evaluate_run` writes: ``<run_dir>/evaluations/<dataset>[-mask-<m>].json``."""
    return Path(run_dir) / EVALUATIONS / (Path(dataset).stem + (f"-mask-{masked}" if masked else "") + ".json")


def probe_run(run_dir: str | Path, *, device: torch.device | str = "auto", write: bool = True) -> dict[str, Any]:
    """Fit linear probes on a saved run's frozen model and score them; write ``probe.json``.

    See :func:`~spcl_diag.evaluation.probe.probe_scores`. The probes are fitted on the
    run's own train split and scored on its dev and test splits.
    """
    device = resolve_device(device)
    checkpoint = load_checkpoint(run_dir, device=device)
    data = checkpoint_dataset(checkpoint)
    splits = _splits(data, device, ("train", "dev", "test"))
    scores = probe_scores(checkpoint.model, splits, batch_size=checkpoint.config.train.eval_batch_size)
    if write:
        (Path(run_dir) / PROBE).write_text(json.dumps(scores, indent=2, sort_keys=True) + "\n")
    return scores
