"""Resolve a run's ``dataset`` setting to a :class:`ConversationDataset`.

A dataset is named either by a benchmark name in :data:`BENCHMARKS` or by a path to a
feature file (read with :func:`spcl_diag.data.load`). Every run goes through
:func:`resolve_dataset`, so the data a run trains on is a pure function of its
configuration.

The shared data folder (needed by ``iemocap-text`` and ``meld-text``) is found by
:func:`resolve_data_dir`: ``data.data_dir`` (``--data-dir``), else the ``SPCL_DIAG_DATA``
environment variable, else ``shared/data`` beside the repository checkout.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from spcl_diag.data.cache import cache_path, file_digest
from spcl_diag.data.config import DataConfig
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.data.loaders import is_npz, load, read_file
from spcl_diag.data.loaders.common import IEMOCAP_LABELS, MELD_LABELS
from spcl_diag.data.semisynthetic import SEMISYNTHETIC, make_semisynthetic
from spcl_diag.data.splits import choose_dev
from spcl_diag.data.synthetic import make_synthetic
from spcl_diag.errors import ConfigError, DataFormatError

DATA_ENV = "SPCL_DIAG_DATA"
SEMISYNTHETIC_SEED = 0  # data seed of the semi-synthetic benchmarks: the same data for every run

BENCHMARKS: dict[str, Callable[[DataConfig], ConversationDataset]] = {
    "synthetic": lambda data: make_synthetic(data.synthetic),
    "iemocap-text": lambda data: make_semisynthetic(
        "iemocap-text", resolve_data_dir(data.data_dir), seed=SEMISYNTHETIC_SEED
    ),
    "meld-text": lambda data: make_semisynthetic("meld-text", resolve_data_dir(data.data_dir), seed=SEMISYNTHETIC_SEED),
}


def default_data_dir() -> Path:
    """``shared/data`` beside the repository that holds the installed package."""
    return Path(__file__).resolve().parents[3] / "shared" / "data"  # spcl_diag/data/registry.py


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The shared data folder: ``data_dir``, else ``$SPCL_DIAG_DATA``, else ``../shared/data``.

    Raises
    ------
    DataFormatError
        The chosen folder does not exist, or none of the three is set and present.
    """
    if data_dir is not None:
        chosen, how = Path(data_dir).expanduser(), "--data-dir / data.data_dir"
    elif os.environ.get(DATA_ENV):
        chosen, how = Path(os.environ[DATA_ENV]).expanduser(), f"${DATA_ENV}"
    else:
        chosen, how = default_data_dir(), "the default ../shared/data beside the repository"
    if not chosen.is_dir():
        raise DataFormatError(
            f"data folder {chosen} (from {how}) does not exist. Point --data-dir or ${DATA_ENV} at the "
            "folder that holds iemocap/ and meld/ (see docs/datasets.md)."
        )
    return chosen


def resolve_dataset(
    name: str, data: DataConfig, *, modalities: str, seed: int | None = None
) -> ConversationDataset:
    """The dataset called ``name`` restricted to ``modalities``.

    Parameters
    ----------
    name
        A key of :data:`BENCHMARKS` or a path to a feature file.
    data
        The run's data settings (data folder, dev split, synthetic parameters).
    modalities
        The run's modality set.
    seed
        Seed of the dev split when ``data.dev_split == "seeded"`` and the file has no dev
        set (the run's ``dev_split`` stream); unused otherwise.
    """
    if name in BENCHMARKS:
        dataset = BENCHMARKS[name](data)
    elif Path(name).expanduser().is_file():
        dataset = load(Path(name).expanduser(), dev_fraction=data.dev_fraction, rng=_dev_rng(data, seed))
    elif Path(name).suffix in (".pkl", ".pickle", ".npz") or os.sep in name:
        raise DataFormatError(f"{Path(name).name}: file not found ({name}).")
    else:
        raise ConfigError(
            f"unknown dataset {name!r}: not a benchmark ({', '.join(BENCHMARKS)}) and not a feature file."
        )
    return dataset.select_modalities(modalities)


def source_file(name: str, data: DataConfig) -> Path | None:
    """The file a run's data is read from: the feature file, or a semi-synthetic benchmark's bundle.

    None for the synthetic benchmark (generated from its config) and for a file or data
    folder that is not there (the run then fails before training, with the reason).
    """
    if name in SEMISYNTHETIC:
        try:
            path = resolve_data_dir(data.data_dir) / SEMISYNTHETIC[name].bundle
        except DataFormatError:
            return None
    elif name in BENCHMARKS:
        return None
    else:
        path = Path(name).expanduser()
    return path if path.is_file() else None


_FAMILIES: dict[str, str] = {}  # file digest -> family


def dataset_family(name: str, data: DataConfig) -> str:
    """``"iemocap"``, ``"meld"`` or ``"other"``, read from the data, never from a path.

    The semi-synthetic benchmarks are named after their family; a feature file is IEMOCAP or
    MELD when its class names are those of the dataset (six IEMOCAP emotions, seven MELD
    ones), whatever the file or its folder is called. This picks the SPCL presets
    (:func:`spcl_diag.curriculum.pacing.spcl_preset`). A file that cannot be read is
    ``"other"``; the run then fails before training with the reason.
    """
    if name in SEMISYNTHETIC:
        return name.split("-")[0]
    path = source_file(name, data)
    if path is None:
        return "other"
    digest = file_digest(path)
    if digest not in _FAMILIES:
        try:
            names = _label_names(path)
        except (DataFormatError, OSError, ValueError, KeyError):
            return "other"
        _FAMILIES[digest] = {IEMOCAP_LABELS: "iemocap", MELD_LABELS: "meld"}.get(names, "other")
    return _FAMILIES[digest]


def _label_names(path: Path) -> tuple[str, ...]:
    """The class names of a feature file, from the bundle or conversion cache when there is one."""
    bundle = path if is_npz(path) else cache_path(path, "auto")
    if bundle.is_file():
        with np.load(bundle, allow_pickle=False) as archive:
            return tuple(str(s) for s in archive["label_names"])
    return read_file(path).label_names


def prepare_dataset(
    dataset: ConversationDataset, data: DataConfig, *, modalities: str, seed: int | None = None
) -> ConversationDataset:
    """An in-memory dataset made ready for a run as a file is: dev split chosen, modalities selected.

    A dataset without dev dialogues gets them from its training dialogues by the run's
    ``data.dev_split`` rule and ``data.dev_fraction`` (:func:`~spcl_diag.data.splits.choose_dev`).
    """
    return choose_dev(dataset, fraction=data.dev_fraction, rng=_dev_rng(data, seed)).select_modalities(modalities)


def memory_dataset_name(dataset: ConversationDataset) -> str:
    """The ``dataset`` setting of a run on an in-memory dataset: its name and content fingerprint.

    The fingerprint puts the data's content into the run id, as a file's path does for a file.
    """
    return f"memory:{dataset.name}:{dataset.fingerprint()}"


def _dev_rng(data: DataConfig, seed: int | None) -> np.random.Generator | None:
    """The generator of the ``seeded`` dev rule (None for ``fixed``)."""
    if data.dev_split != "seeded":
        return None
    if seed is None:
        raise ConfigError("data.dev_split='seeded' needs the run's dev-split seed; none was given.")
    return np.random.default_rng(seed)
