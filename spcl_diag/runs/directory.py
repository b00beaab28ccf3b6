"""The run directory: file names, atomic completion and the writers of each file.

``<runs>/<run_id>/`` holds

* ``config.json``     resolved config, identity payload (what the run id hashes), package
  version, git commit, dataset fingerprint, device;
* ``epochs.csv``      tidy rows ``epoch, split, scope, metric, value``;
* ``difficulty.npz``  ``l, c, d`` (float16) and ``v`` (bool) ``[train utterances, epochs]``
  plus each utterance's ``dialogue_id``, ``label``, ``speaker`` and ``position``;
* ``pacing.npz``      utterances kept ``kept[e, b]`` of ``size[e, b]`` in every batch;
* ``predictions.npz`` dev and test labels, joint and per-modality probabilities at the
  selected epoch, the dialogue of each utterance and the ``label_names``;
* ``model.pt``        the selected epoch's weights and resolved config (``train.checkpoint``);
* ``probe.json``      linear-probe scores per modality (``run(probe=True)``, ``spcl-diag probe``);
* ``evaluations/``    scores of ``spcl-diag evaluate`` (another file, masked modalities);
* ``tensorboard/``    event files of ``--log tensorboard``;
* ``result.json``     status, selected epoch, dev and test metrics, imbalance summary, wall time,
  and a ``notice`` when the best dev score is not above the majority class's
  (:mod:`spcl_diag.runs.notice`);
* ``error.txt``       the traceback, when the run failed (``result.json`` then has ``error``,
  the one-line reason, and ``failed_epoch`` when training had started).

A run is written into ``.<run_id>.tmp-<pid>`` and renamed to ``<run_id>`` when complete,
so a directory named by a run id is never half-written.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Literal

import numpy as np

from spcl_diag.config.identity import folder_run_id
from spcl_diag.errors import RunSetupError

CONFIG, EPOCHS, DIFFICULTY, PACING, PREDICTIONS, RESULT, ERROR = (
    "config.json",
    "epochs.csv",
    "difficulty.npz",
    "pacing.npz",
    "predictions.npz",
    "result.json",
    "error.txt",
)
CHECKPOINT, PROBE, EVALUATIONS = "model.pt", "probe.json", "evaluations"  # optional, see below
EPOCH_COLUMNS = ("epoch", "split", "scope", "metric", "value")
COMPLETE_FILES = (CONFIG, EPOCHS, DIFFICULTY, PACING, PREDICTIONS, RESULT)


RunState = Literal["absent", "complete", "failed", "stale"]


def is_complete(run_dir: Path) -> bool:
    """True when ``run_dir`` holds a finished run (all files, a readable ``result.json``, status ``ok``)."""
    if not all((run_dir / name).is_file() for name in COMPLETE_FILES):
        return False
    try:
        return read_json(run_dir / RESULT).get("status") == "ok"
    except (OSError, ValueError, AttributeError):  # truncated or not a JSON object: damaged
        return False


def run_state(run_dir: Path, run_id: str) -> RunState:
    """What the folder where run ``run_id`` belongs holds.

    ``absent``; ``complete`` (finished, and its ``config.json`` resolves to ``run_id``);
    ``failed`` (a recorded failure of this run); ``stale`` (anything else: incomplete,
    damaged, or the run of another config, e.g. a copied folder).

    Raises
    ------
    RunSetupError
        ``run_dir`` is a dangling symbolic link or a file: nothing could be written there.
    """
    if run_dir.is_symlink() and not run_dir.exists():
        raise RunSetupError(
            f"run {run_id} could not start: {run_dir} is a symbolic link to {os.readlink(run_dir)}, which does "
            "not exist; restore its target or remove the link."
        )
    if not run_dir.exists():
        return "absent"
    if not run_dir.is_dir():
        raise RunSetupError(f"run {run_id} could not start: {run_dir} is a file, not a run folder; move it away.")
    if read_folder_run_id(run_dir) != run_id:
        return "stale"
    if is_complete(run_dir):
        return "complete"
    return "failed" if (run_dir / ERROR).is_file() else "stale"


def temporary_dir(out_dir: Path, run_id: str) -> Path:
    """A fresh private directory to write run ``run_id`` into."""
    tmp = out_dir / f".{run_id}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def publish(tmp: Path, final: Path) -> None:
    """Atomically rename the finished ``tmp`` to ``final`` (an existing ``final`` is an error)."""
    if final.exists():
        raise FileExistsError(f"{final} already exists; refusing to overwrite a run.")
    os.replace(tmp, final)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_json_default) + "\n")


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def write_epochs(path: Path, rows: list[tuple[int, str, str, str, float]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(EPOCH_COLUMNS)
        writer.writerows((e, split, scope, metric, repr(float(value))) for e, split, scope, metric, value in rows)


def write_difficulty(
    path: Path,
    trajectories: dict[str, np.ndarray],
    *,
    dialogue_id: np.ndarray,
    position: np.ndarray,
    label: np.ndarray,
    speaker: np.ndarray,
) -> None:
    """``difficulty.npz`` from ``l, c, d`` (float) and ``v`` (bool) ``[epochs, U]`` and per-utterance info.

    Stored transposed, one row per training utterance and one column per epoch: ``[U, epochs]``,
    the terms as float16.
    """
    save_npz(
        path,
        l=np.ascontiguousarray(trajectories["l"].T.astype(np.float16)),
        c=np.ascontiguousarray(trajectories["c"].T.astype(np.float16)),
        d=np.ascontiguousarray(trajectories["d"].T.astype(np.float16)),
        v=np.ascontiguousarray(trajectories["v"].T.astype(bool)),
        dialogue_id=dialogue_id,
        position=position,
        label=label,
        speaker=speaker,
    )


def git_commit() -> str | None:
    """The commit of the package's source checkout, if it is one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """``np.savez_compressed`` of plain arrays (no object dtype, so loading needs no pickle)."""
    for key, value in arrays.items():
        assert np.asarray(value).dtype != object, f"{key} would need pickle"
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as bool


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def read_folder_run_id(run_dir: Path) -> str | None:
    """:func:`folder_run_id` of ``run_dir/config.json``; None when it is missing or unreadable."""
    try:
        metadata = json.loads((run_dir / CONFIG).read_text())
    except (OSError, ValueError):
        return None
    return folder_run_id(metadata) if isinstance(metadata, dict) else None
