"""Resolve a run's ``dataset`` setting to a :class:`ConversationDataset`.

A dataset is named either by a benchmark name in :data:`BENCHMARKS` or by a path to a
feature file. Every run goes through :func:`resolve_dataset`, so the data a run trains on
is a pure function of its configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.data.synthetic import make_synthetic
from spcl_diag.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from spcl_diag.runs.config import DataConfig

BENCHMARKS: dict[str, Callable[["DataConfig"], ConversationDataset]] = {
    "synthetic": lambda data: make_synthetic(data.synthetic),
}


def resolve_dataset(name: str, data: DataConfig, *, modalities: str) -> ConversationDataset:
    """The dataset called ``name`` restricted to ``modalities``.

    Parameters
    ----------
    name
        A key of :data:`BENCHMARKS` or a path to a feature file.
    data
        The run's data settings (data folder, dev split, synthetic parameters).
    modalities
        The run's modality set.
    """
    if name in BENCHMARKS:
        dataset = BENCHMARKS[name](data)
    else:
        raise ConfigError(
            f"unknown dataset {name!r}: not a benchmark ({', '.join(BENCHMARKS)}) and not a feature file."
        )
    return dataset.select_modalities(modalities)
