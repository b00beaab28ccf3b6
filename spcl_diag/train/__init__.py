"""The training loop and its stacked twin, balancing methods and callbacks.

The names are imported on first use (PEP 562), so importing one light module of the package
(``spcl_diag.train.callbacks``) does not import torch.

>>> from spcl_diag.train import train_run, Callback  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spcl_diag._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "TrainingOutcome": "spcl_diag.train.loop",
    "train_run": "spcl_diag.train.loop",
    "train_stacked": "spcl_diag.train.stacked",
    "Callback": "spcl_diag.train.callbacks",
    "EpochEnd": "spcl_diag.train.callbacks",
    "register_balancing": "spcl_diag.train.balancing",
}

if TYPE_CHECKING:  # pragma: no cover
    from spcl_diag.train.balancing import register_balancing
    from spcl_diag.train.callbacks import Callback, EpochEnd
    from spcl_diag.train.loop import TrainingOutcome, train_run
    from spcl_diag.train.stacked import train_stacked


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)


__all__ = [
    "Callback",
    "EpochEnd",
    "TrainingOutcome",
    "register_balancing",
    "train_run",
    "train_stacked",
]
