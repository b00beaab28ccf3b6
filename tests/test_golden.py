"""The golden batch of the middle-layer redesign (issue 26): restructuring changes no result.

One fixed batch, trained solo and with ``--stack arms``: two backbones (late fusion, MMGCN), every
curriculum arm, two seeds, tiny widths. :func:`flatten` turns its run folders into named arrays
so the reference (``golden/reference.npz`` beside this file) can be checked value by value. Timings are
left out; ``config.json`` is left out too (issue 26 records every resolved field there, which
changes the file but not the run: the run ids pin the identity).

Regenerate the reference only when a change of results is intended and said in the commit::

    python tests/test_golden.py tests/golden/reference.npz
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from spcl_diag.batch.grid import Grid
from spcl_diag.curriculum.names import ARMS

GRID = Grid(
    dataset=("synthetic",),
    backbone=("late_fusion", "mmgcn"),
    modalities=("tav",),
    curriculum=ARMS,
    seed=(0, 1),
    overrides={"train.epochs": 3, "train.batch_size": 4, "data.synthetic.n_dialogues": 12,
               "data.synthetic.min_length": 3, "data.synthetic.max_length": 6,
               "model.hidden_dim": 8, "model.feedforward_dim": 16},
)
MODES = {"solo": None, "stack": "arms"}
ARRAY_FILES = ("difficulty.npz", "pacing.npz", "predictions.npz")
TIMINGS = frozenset({"wall_seconds", "train_seconds"})


def train_golden_batch(out: Path) -> dict[str, Path]:
    """Train :data:`GRID` once per mode under ``out``; the folder of each mode."""
    from spcl_diag.batch.runner import run_batch

    folders = {}
    for mode, stack in MODES.items():
        summary = run_batch(GRID, out / mode, device="cpu", progress=False, stack=stack)
        assert summary.counts["failed"] == 0, summary.line()
        folders[mode] = out / mode
    return folders


def _leaves(value, prefix: str):
    if isinstance(value, dict):
        for key in sorted(value):
            if key not in TIMINGS:
                yield from _leaves(value[key], f"{prefix}.{key}")
    elif isinstance(value, bool | str) or value is None:
        yield prefix, str(value)
    elif isinstance(value, int | float):
        yield prefix, float(value)
    else:  # lists
        for i, item in enumerate(value):
            yield from _leaves(item, f"{prefix}[{i}]")


def flatten(folders: dict[str, Path]) -> dict[str, np.ndarray]:
    """Every compared value of the batch, keyed ``mode/run_id/file/name``; strings as 0-d str arrays."""
    flat: dict[str, np.ndarray] = {}
    for mode, folder in folders.items():
        run_dirs = sorted(p for p in folder.iterdir() if (p / "result.json").is_file())
        flat[f"{mode}/run_ids"] = np.array([p.name for p in run_dirs])
        for run_dir in run_dirs:
            base = f"{mode}/{run_dir.name}"
            for name in ARRAY_FILES:
                with np.load(run_dir / name) as arrays:
                    for key in arrays.files:
                        flat[f"{base}/{name}/{key}"] = arrays[key]
            with open(run_dir / "epochs.csv", newline="") as handle:
                rows = [r for r in csv.DictReader(handle) if r["metric"] not in TIMINGS]
            flat[f"{base}/epochs.csv/keys"] = np.array(["|".join((r["epoch"], r["split"], r["scope"], r["metric"]))
                                                        for r in rows])
            flat[f"{base}/epochs.csv/value"] = np.array([float(r["value"]) for r in rows])
            result = json.loads((run_dir / "result.json").read_text())
            leaves = list(_leaves(result, "result"))
            flat[f"{base}/result.json/numbers"] = np.array([v for _, v in leaves if isinstance(v, float)])
            flat[f"{base}/result.json/keys"] = np.array([f"{k}={v}" if isinstance(v, str) else k for k, v in leaves])
    return flat


REFERENCE = Path(__file__).parent / "golden" / "reference.npz"
TOLERANCE = 1e-6  # probabilities and losses where a shared vectorised rule reorders floating-point operations


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> dict[str, np.ndarray]:
    return flatten(train_golden_batch(tmp_path_factory.mktemp("golden")))


def test_run_ids_are_the_references(golden):
    with np.load(REFERENCE) as reference:
        for mode in MODES:
            np.testing.assert_array_equal(golden[f"{mode}/run_ids"], reference[f"{mode}/run_ids"], err_msg=mode)


def test_every_file_holds_the_references_values(golden):
    with np.load(REFERENCE) as reference:
        assert sorted(golden) == sorted(reference.files), "a file, an array or a result key appeared or went"
        for key in reference.files:
            expected, got = reference[key], golden[key]
            assert got.shape == expected.shape, key
            if expected.dtype.kind in "biu" or expected.dtype.kind in "US":
                np.testing.assert_array_equal(got, expected, err_msg=key)  # masks, counts, names: exact
            else:
                np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE, equal_nan=True, err_msg=key)


if __name__ == "__main__":  # pragma: no cover - regenerates the reference
    import tempfile

    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        np.savez_compressed(sys.argv[1], **flatten(train_golden_batch(Path(tmp))))
    print(f"wrote {sys.argv[1]}")
