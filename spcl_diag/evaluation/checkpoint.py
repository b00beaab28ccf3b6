"""``model.pt``: the selected epoch's weights with everything needed to rebuild the model.

A checkpoint is a plain dict of tensors, strings and numbers, so it loads with
``torch.load(weights_only=True)`` (no pickled code runs)::

    {"format": 1, "package_version": "0.1.0", "run_id": ..., "config": <resolved config dict>,
     "data": {"dims": {m: d_m}, "n_classes": C, "n_speakers": S, "label_names": [...],
              "fingerprint": ...},
     "state_dict": {name: tensor}}

A checkpoint written by another package version, or one applied to a dataset whose
feature widths, classes or speakers differ, is refused with a :class:`CheckpointError`
that says what differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from spcl_diag._version import __version__
from spcl_diag.config.schema import RunConfig
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.errors import (
    CheckpointError,  # with the other user errors; also importable from here
)
from spcl_diag.models import build_backbone
from spcl_diag.models.base import Backbone

FORMAT = 1
CHECKPOINT = "model.pt"  # its name in a run directory (spcl_diag.runs.directory.CHECKPOINT)


@dataclass(frozen=True)
class Checkpoint:
    """A rebuilt model with the config and data description it was trained with."""

    model: Backbone  # in eval mode, on the requested device
    config: RunConfig
    data: dict[str, Any]  # dims, n_classes, n_speakers, label_names, fingerprint
    path: Path
    run_id: str = ""  # the id it was saved under (the run folder's name), whatever data it scores now


def save_checkpoint(path: str | Path, model: Backbone, config: RunConfig, dataset: ConversationDataset) -> None:
    """Write ``model``'s weights (moved to the CPU), the resolved ``config`` and ``dataset``'s shape."""
    payload = {
        "format": FORMAT,
        "package_version": __version__,
        "run_id": config.run_id(),
        "config": config.to_dict(),
        "data": {
            "dims": dict(dataset.dims),
            "n_classes": dataset.n_classes,
            "n_speakers": dataset.n_speakers,
            "label_names": list(dataset.label_names),
            "fingerprint": dataset.fingerprint(),
        },
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    torch.save(payload, Path(path))


def load_checkpoint(path: str | Path, *, device: torch.device | str = "cpu") -> Checkpoint:
    """Rebuild the model saved at ``path`` (a ``model.pt`` or the run directory holding it).

    Raises
    ------
    FileNotFoundError
        No checkpoint there (runs with ``train.checkpoint=false`` save none).
    CheckpointError
        Another format or package version, or weights that do not fit the config.

    Examples
    --------
    ```python
    from spcl_diag import RunConfig, run
    from spcl_diag.evaluation import load_checkpoint

    small = {"train.epochs": 1, "data.synthetic.n_dialogues": 12, "model.hidden_dim": 8}
    result = run(RunConfig().with_overrides(small), "runs")
    checkpoint = load_checkpoint(result.path)
    checkpoint.config.run_id() == result.run_id, checkpoint.model.modalities  # (True, 'tav')
    ```
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint (runs save model.pt unless train.checkpoint=false).")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001  (an unreadable file is reported, not a traceback)
        raise CheckpointError(f"{path}: not a spcl_diag checkpoint ({type(err).__name__}: {err}).") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: checkpoint format {found!r}, this package reads format {FORMAT}.")
    if payload["package_version"] != __version__:
        raise CheckpointError(
            f"{path}: written by spcl_diag {payload['package_version']}, this is {__version__}; "
            "evaluate it with that version, or retrain."
        )
    config = RunConfig.from_dict(payload["config"])
    data = payload["data"]
    model = build_backbone(
        config.backbone, modalities=config.modalities, dims=data["dims"], n_classes=data["n_classes"],
        n_speakers=data["n_speakers"], overrides=config.model,
    )
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        raise CheckpointError(f"{path}: the weights do not fit the {config.backbone} of its config: {err}") from None
    return Checkpoint(model=model.to(device).eval(), config=config, data=data, path=path, run_id=payload["run_id"])


def check_dataset(checkpoint: Checkpoint, dataset: ConversationDataset) -> None:
    """Raise :class:`CheckpointError` unless ``dataset`` has the checkpoint's modalities, widths and classes."""
    data, problems = checkpoint.data, []
    missing = set(checkpoint.config.modalities) - set(dataset.modalities)
    if missing:
        problems.append(f"modalities {''.join(sorted(missing))} are missing (the model uses {checkpoint.config.modalities})")
    for m in checkpoint.config.modalities:
        if m in dataset.dims and dataset.dims[m] != data["dims"][m]:
            problems.append(f"modality {m!r} has {dataset.dims[m]} features, the model expects {data['dims'][m]}")
    if list(dataset.label_names) != list(data["label_names"]):
        problems.append(f"classes {list(dataset.label_names)}, the model was trained on {list(data['label_names'])}")
    if dataset.n_speakers > data["n_speakers"]:
        problems.append(f"{dataset.n_speakers} speakers, the model knows {data['n_speakers']}")
    if problems:
        raise CheckpointError(f"{dataset.name} does not fit the checkpoint {checkpoint.path}: " + "; ".join(problems) + ".")
