"""Where a run's data comes from and how its dev split is chosen (``RunConfig.data``).

It sits in the data layer, beside the registry that reads it (:mod:`spcl_diag.data.registry`),
so the data code needs nothing from the configuration layer above it. ``data_dir`` is marked
``identity=False``: where the data lives does not change the experiment
(:mod:`spcl_diag.config.identity`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from spcl_diag.data.synthetic import SyntheticConfig


@dataclass(frozen=True)
class DataConfig:
    """Where data comes from and how the dev split is chosen."""

    data_dir: str | None = field(default=None, metadata={"identity": False})
    # folder of the shared data (--data-dir, else $SPCL_DIAG_DATA, else ../shared/data)
    dev_split: Literal["fixed", "seeded"] = "fixed"
    # for files without a dev set: 'fixed' = the first dev_fraction of train dialogues (the
    # same for every seed and arm); 'seeded' = a random dev_fraction drawn from the run seed
    dev_fraction: float = 0.1  # share of train dialogues moved to dev when the file has no dev set
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)  # the synthetic benchmark
