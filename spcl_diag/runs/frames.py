"""Tidy frames built from run folders, the input of :mod:`spcl_diag.plots` (which draws frames, never reads folders).

* :func:`difficulty_frame`: the recorded training trajectories of one run (``difficulty.npz``);
* :func:`confidence_frame`: the SPCL difficulty of each test utterance under the selected
  model and its most confident modality (``predictions.npz``, the training rule of
  :func:`spcl_diag.curriculum.difficulty.spcl_difficulty`, hence torch);
* :func:`confusion_counts`: confusion counts of the saved predictions, summed over runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from spcl_diag.curriculum.difficulty import spcl_difficulty
from spcl_diag.metrics.classification import confusion_matrix
from spcl_diag.modalities import MODALITIES
from spcl_diag.runs.loading import RunTables, load_difficulty, load_predictions


def difficulty_frame(run_dir: str | Path) -> pd.DataFrame:
    """The difficulty trajectories of one run as tidy rows.

    Returns
    -------
    pandas.DataFrame
        One row per training utterance and epoch: ``utterance`` (index in the training
        set), ``epoch`` (1-based), ``l``, ``c``, ``d`` (float), ``v`` (kept), ``dialogue_id``,
        ``label``.
    """
    traj = load_difficulty(run_dir)
    n_utt, n_epochs = traj["d"].shape  # one row per utterance, one column per epoch
    frame = pd.DataFrame(
        {
            "utterance": np.tile(np.arange(n_utt), n_epochs),
            "epoch": np.repeat(np.arange(1, n_epochs + 1), n_utt),
            **{key: traj[key].astype(np.float64).T.ravel() for key in ("l", "c", "d")},
            "v": traj["v"].T.ravel(),
            "dialogue_id": np.tile(traj["dialogue_id"], n_epochs),
            "label": np.tile(traj["label"], n_epochs),
        }
    )
    return frame


def confidence_frame(tables: RunTables, *, split: str = "test") -> pd.DataFrame:
    """SPCL difficulty of each ``split`` utterance and its most confident modality, per run.

    The difficulty is computed from the saved probabilities at the selected epoch with the
    training rule (:func:`spcl_diag.curriculum.difficulty.spcl_difficulty`, conversation
    term over each whole dialogue); the most confident modality is the one with the
    highest gold-class probability. Only runs with at least two modalities contribute.

    Returns
    -------
    pandas.DataFrame
        ``run_id, curriculum, seed, modalities, most_confident, l, c, d``, one row per
        utterance of each run.
    """
    frames = []
    ok = tables.results[tables.results["status"] == "ok"]
    for row in ok.itertuples(index=False):
        present = [m for m in MODALITIES if m in row.modalities]
        if len(present) < 2:
            continue
        preds = load_predictions(row.path)
        labels = torch.from_numpy(preds[f"{split}_labels"])
        _, dialogue = np.unique(preds[f"{split}_dialogue_id"], return_inverse=True)
        dialogue_t = torch.from_numpy(dialogue.astype(np.int64))
        logits = {m: torch.from_numpy(np.log(preds[f"{split}_probs_{m}"].clip(1e-12))) for m in present}
        joint = torch.from_numpy(np.log(preds[f"{split}_probs_joint"].clip(1e-12)))
        diff = spcl_difficulty(joint, logits, labels, dialogue_t, int(dialogue.max()) + 1)
        gold = np.stack([preds[f"{split}_probs_{m}"][np.arange(len(labels)), labels.numpy()] for m in present])
        frames.append(
            pd.DataFrame(
                {
                    "run_id": row.run_id,
                    "curriculum": row.curriculum,
                    "seed": row.seed,
                    "modalities": row.modalities,
                    "most_confident": np.asarray(present)[gold.argmax(axis=0)],
                    "l": diff.utterance.numpy(),
                    "c": diff.conversation.numpy(),
                    "d": diff.difficulty.numpy(),
                }
            )
        )
    if not frames:
        raise ValueError("confidence_frame: no finished run with at least two modalities.")
    return pd.concat(frames, ignore_index=True)


def confusion_counts(run_dirs: Sequence[str | Path], *, split: str = "test") -> tuple[dict[str, np.ndarray], list[str]]:
    """Scope -> ``[C, C]`` counts summed over ``run_dirs``, and the class names."""
    totals: dict[str, np.ndarray] = {}
    names: list[str] | None = None
    for run_dir in run_dirs:
        preds = load_predictions(run_dir)
        if f"{split}_labels" not in preds:
            raise ValueError(f"{run_dir}: predictions.npz has no {split} split; it has {sorted(preds)}.")
        labels = preds[f"{split}_labels"]
        n_classes = preds[f"{split}_probs_joint"].shape[1]
        these = [str(n) for n in preds["label_names"]] if "label_names" in preds else [f"class{c}" for c in range(n_classes)]
        if names is not None and these != names:
            raise ValueError(f"{run_dir}: classes {these} differ from the other runs' {names}.")
        names = these
        for key, probs in preds.items():
            if key.startswith(f"{split}_probs_"):
                scope = key.removeprefix(f"{split}_probs_")
                counts = confusion_matrix(labels, probs.argmax(1), n_classes=n_classes)
                totals[scope] = totals.get(scope, 0) + counts
    if names is None:
        raise ValueError("confusion_counts needs at least one run directory.")
    return totals, names
