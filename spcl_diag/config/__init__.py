"""The configuration layer: the schema of a run, its settings parser, config file, identity and seeds.

It sits between :mod:`spcl_diag.models` and :mod:`spcl_diag.train` (shared/DESIGN.md section 2):

* :mod:`~spcl_diag.config.settings`: typed dotted-key settings over nested dataclasses;
* :mod:`~spcl_diag.config.schema`: :class:`RunConfig` and one dataclass per concern
  (``DataConfig`` lives in :mod:`spcl_diag.data.config`, below);
* :mod:`~spcl_diag.config.balancing`: ``BalancingConfig`` and what each balancing method reads
  and needs (its torch-free requirements; the builders are in :mod:`spcl_diag.train.balancing`);
* :mod:`~spcl_diag.config.file`: the TOML config file, in and out;
* :mod:`~spcl_diag.config.identity`: what makes two runs the same experiment, and the run id;
* :mod:`~spcl_diag.config.seeds`: the run's independent random streams.

Checks run at the boundary (a dict, overrides, a file or the command line): every problem is
collected and raised once as a :class:`~spcl_diag.errors.ConfigError`.
"""

from __future__ import annotations

from spcl_diag.config.balancing import (
    METHOD_REQUIREMENTS,
    BalancingConfig,
    MethodRequirements,
    balancing_problem,
)
from spcl_diag.config.file import load_toml, read_config_file, write_config_file
from spcl_diag.config.identity import folder_run_id, identity_payload, payload_run_id
from spcl_diag.config.schema import (
    BALANCING_METHODS,
    PacingConfig,
    RunConfig,
    TrainConfig,
)
from spcl_diag.config.seeds import RunSeeds
from spcl_diag.config.settings import dotted_keys
from spcl_diag.data.config import DataConfig

__all__ = [
    "BALANCING_METHODS",
    "METHOD_REQUIREMENTS",
    "BalancingConfig",
    "DataConfig",
    "MethodRequirements",
    "PacingConfig",
    "RunConfig",
    "RunSeeds",
    "TrainConfig",
    "balancing_problem",
    "dotted_keys",
    "folder_run_id",
    "identity_payload",
    "load_toml",
    "payload_run_id",
    "read_config_file",
    "write_config_file",
]
