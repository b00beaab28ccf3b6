"""Load run directories into tidy pandas tables.

``load_runs(path)`` finds every finished (or failed) run under ``path`` and returns

* ``results``: one row per run; the config fields as columns (``dataset``, ``backbone``,
  ``modalities``, ``curriculum``, ``balancing``, ``seed``, and nested settings as
  ``train.lr``, ``pacing.lambda0``, ...), ``run_id``, ``status``, ``best_epoch``, the wall
  time, the ``package_version`` and ``git_commit`` that wrote the run (and ``plugin_sources``,
  ``name=hash`` of the plugin modules it imported), and flat metric columns
  ``<split>_<metric>`` for the joint prediction and
  ``<split>_<metric>_<modality>`` per modality (``test_wf1``, ``test_acc_a``, ...), and
  ``test_disparity_ratio_<m>``; the per-class F1 as ``test_f1_class_<name>[_<m>]`` and, when
  the run has linear probes (``probe.json``), ``<split>_probe_<metric>_<m>``;
* ``epochs``: the concatenated ``epochs.csv`` rows with ``run_id`` and the main config fields.

Failed runs have ``status == "failed"`` and the reason in ``error``; statistics use the
``ok`` rows only. A damaged folder (unreadable ``result.json``, a finished run without
``epochs.csv``, a ``config.json`` of another run id) is left out with a warning that names
it, and the rest load.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spcl_diag.config.identity import stored_run_id
from spcl_diag.config.settings import dotted_keys
from spcl_diag.runs import directory as rd

KEY_FIELDS: tuple[str, ...] = ("dataset", "backbone", "modalities", "curriculum", "balancing", "seed")


@dataclass(frozen=True)
class RunTables:
    """Tidy tables of a set of runs."""

    results: pd.DataFrame
    epochs: pd.DataFrame

    def run_dirs(self) -> dict[str, Path]:
        """Run id -> run directory."""
        return dict(zip(self.results["run_id"], map(Path, self.results["path"])))


def find_run_dirs(path: str | Path) -> list[Path]:
    """Published run directories under ``path`` (recursively), sorted; ``path`` may be one run."""
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"no runs at {root}: the folder does not exist.")
    if (root / rd.RESULT).is_file():
        return [root]
    return sorted(
        p.parent
        for p in root.rglob(rd.RESULT)
        if not p.parent.name.startswith(".") and ".failed-" not in p.parent.name and ".stale-" not in p.parent.name
    )


def flatten_result(result: dict[str, Any]) -> dict[str, Any]:
    """``result.json`` -> flat metric columns (``test_wf1``, ``test_acc_t``, ...)."""
    flat: dict[str, Any] = {}
    for split in ("dev", "test"):
        for scope, metrics in result.get(split, {}).items():
            suffix = "" if scope == "joint" else f"_{scope}"
            for metric, value in metrics.items():
                flat[f"{split}_{metric}{suffix}"] = value
    for metric, per_modality in result.get("imbalance", {}).items():
        if isinstance(per_modality, dict):
            for m, value in per_modality.items():
                flat[f"test_{metric}_{m}"] = value
        else:
            flat[f"test_{metric}"] = per_modality
    return flat


def flatten_probe(probe: dict[str, Any]) -> dict[str, Any]:
    """``probe.json`` -> ``<split>_probe_<metric>_<m>`` columns (``test_probe_wf1_a``, ...)."""
    return {
        f"{split}_probe_{metric}_{m}": value
        for split, metrics in probe.items()
        for metric, per_modality in metrics.items()
        for m, value in per_modality.items()
    }


def _config_columns(config: dict[str, Any]) -> dict[str, Any]:
    """Nested config -> dotted columns (``train.lr``, ``data.synthetic.informativeness.a``); lists as text."""
    return {key: str(value) if isinstance(value, (list, tuple)) else value for key, value in dotted_keys(config).items()}


def load_runs(path: str | Path) -> RunTables:
    """Read every run directory under ``path`` into :class:`RunTables`.

    Examples
    --------
    ```python
    from spcl_diag import RunConfig, load_runs, run

    small = {"train.epochs": 2, "data.synthetic.n_dialogues": 12, "model.hidden_dim": 16}
    run(RunConfig(seed=1).with_overrides(small), "runs")
    tables = load_runs("runs")
    tables.results[["curriculum", "seed", "status"]].values.tolist()  # [['none', 1, 'ok']]
    sorted(tables.epochs["split"].unique())  # ['dev', 'test', 'train']
    ```
    """
    records, epoch_frames = [], []
    for run_dir in find_run_dirs(path):
        try:
            record, frame = _read_run(run_dir)
        except _Damaged as err:
            warnings.warn(f"run folder {run_dir} left out: {err}. A batch trains it again.", UserWarning, stacklevel=2)
            continue
        records.append(record)
        if frame is not None:
            epoch_frames.append(frame)
    results = pd.DataFrame.from_records(records)
    _warn_if_mixed_code(results, path)
    _warn_if_mixed_plugins(results, path)
    epochs = (
        pd.concat(epoch_frames, ignore_index=True)
        if epoch_frames
        else pd.DataFrame(columns=["run_id", *rd.EPOCH_COLUMNS, *KEY_FIELDS])
    )
    return RunTables(results=results, epochs=epochs)


class _Damaged(Exception):
    """A run folder that cannot be read as the run its name says."""


def _read_run(run_dir: Path) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """One run's results row and its epochs rows (None for a failed run without them).

    Raises
    ------
    _Damaged
        Unreadable ``result.json`` or ``config.json``, a finished run without ``epochs.csv``,
        or a folder whose ``config.json`` resolves to another run id (a copied folder).
    """
    try:
        result = rd.read_json(run_dir / rd.RESULT)
        metadata = rd.read_json(run_dir / rd.CONFIG) if (run_dir / rd.CONFIG).is_file() else {}
    except (OSError, ValueError) as err:
        raise _Damaged(f"unreadable {type(err).__name__}: {err}") from None
    if not isinstance(result, dict) or not isinstance(metadata, dict):
        raise _Damaged("result.json or config.json is not a JSON object")
    # Only folders that store their identity payload are checked: older ones hash a config
    # without the data's content and cannot be re-derived from today's files.
    holds = stored_run_id(metadata)
    if holds is not None and _is_run_id(run_dir.name) and holds != run_dir.name:
        raise _Damaged(f"its config.json is the config of run {holds}, not of {run_dir.name} (a copied or linked folder)")
    ok = result.get("status") == "ok"
    if ok and not rd.is_complete(run_dir):
        missing = [name for name in rd.COMPLETE_FILES if not (run_dir / name).is_file()]
        raise _Damaged(f"a finished run without {', '.join(missing) or 'a readable result.json'}")
    config = metadata.get("config", {})
    record = {"run_id": result.get("run_id", run_dir.name), **_config_columns(config)}
    if isinstance(record.get("dataset"), str) and _is_file_dataset(record["dataset"], metadata):
        # a file is named by its file name, so that runs of one file on two machines pair;
        # the path it was read from is metadata (the identity holds its content hash)
        record["data_path"], record["dataset"] = record["dataset"], Path(record["dataset"]).name
    record.update(
        status=result.get("status"),
        error=result.get("error"),
        best_epoch=result.get("best_epoch"),
        wall_seconds=result.get("wall_seconds"),
        train_seconds=result.get("train_seconds"),
        n_parameters=result.get("n_parameters"),
        package_version=metadata.get("package_version"),
        git_commit=metadata.get("git_commit"),
        plugin_sources=_plugin_text(metadata.get("plugins")),
        path=str(run_dir),
    )
    record.update(flatten_result(result))
    if (run_dir / rd.PROBE).is_file():
        try:
            record.update(flatten_probe(rd.read_json(run_dir / rd.PROBE)))
        except (OSError, ValueError) as err:
            raise _Damaged(f"unreadable probe.json ({err})") from None
    frame = None
    if (run_dir / rd.EPOCHS).is_file():
        try:
            frame = pd.read_csv(run_dir / rd.EPOCHS)
        except (OSError, ValueError) as err:
            raise _Damaged(f"unreadable epochs.csv ({err})") from None
        frame.insert(0, "run_id", record["run_id"])
        for key in KEY_FIELDS:
            frame[key] = config.get(key)
    return record, frame


def _is_file_dataset(dataset: str, metadata: dict[str, Any]) -> bool:
    """Whether a run trained on a feature file: its identity says so, or (older folders) the name is a path."""
    identity = metadata.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("dataset"), str):
        return identity["dataset"].startswith("file:")
    return not dataset.startswith("memory:") and ("/" in dataset or "\\" in dataset)


def _is_run_id(name: str) -> bool:
    return len(name) == 12 and all(c in "0123456789abcdef" for c in name)


def _plugin_text(sources: dict[str, str] | None) -> str | None:
    """``"name=hash,..."`` of the plugins a run imported (their source hashes), or None."""
    return ",".join(f"{name}={digest}" for name, digest in sorted(sources.items())) if sources else None


def _warn_if_mixed_code(results: pd.DataFrame, path: str | Path) -> None:
    """Warn when the runs were written by more than one git commit of the package.

    A run id hashes the resolved config, not the code, so a batch resumed after a code change
    keeps the runs of the earlier code beside the new ones.
    """
    if "git_commit" not in results:
        return
    counts = results["git_commit"].dropna().value_counts()
    if len(counts) > 1:
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))  # most runs first
        listed = ", ".join(f"{commit[:10]} ({n} run{'s' * (n != 1)})" for commit, n in ordered)
        warnings.warn(
            f"the runs under {path} were written by {len(counts)} versions of the code (git commits {listed}). "
            "A batch resumed after a code change keeps its earlier runs: filter on results['git_commit'] "
            "or re-run into a fresh folder before comparing them.",
            UserWarning,
            stacklevel=3,
        )


def _warn_if_mixed_plugins(results: pd.DataFrame, path: str | Path) -> None:
    """Warn when runs of one backbone imported different versions of a plugin's source.

    Editing a plugin gives new run ids (its hash is in the identity), so a folder can hold the
    runs of the old and of the new plugin side by side.
    """
    if "plugin_sources" not in results or "backbone" not in results:
        return
    versions = results.dropna(subset=["plugin_sources"]).groupby("backbone")["plugin_sources"].nunique()
    mixed = versions[versions > 1]
    if len(mixed):
        warnings.warn(
            f"the runs under {path} of backbone(s) {', '.join(map(str, mixed.index))} imported "
            f"{int(mixed.max())} versions of their plugins' source: compare the versions apart (spcl-diag compare "
            "--by dataset backbone modalities plugin_sources; by=(..., 'plugin_sources') in Python), filter on "
            "results['plugin_sources'] (spcl-diag ls --plugins NAME=HASH), or re-run into a fresh folder.",
            UserWarning,
            stacklevel=3,
        )


def load_difficulty(run_dir: str | Path) -> dict[str, np.ndarray]:
    """The difficulty trajectories of one run (see :mod:`spcl_diag.runs.directory`)."""
    with np.load(Path(run_dir) / rd.DIFFICULTY) as f:
        return {key: f[key] for key in f.files}


def load_predictions(run_dir: str | Path) -> dict[str, np.ndarray]:
    """The dev/test predictions of one run at its selected epoch."""
    with np.load(Path(run_dir) / rd.PREDICTIONS) as f:
        return {key: f[key] for key in f.files}
