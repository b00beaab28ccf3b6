"""A run that learned nothing says so: its best dev score against the majority-class score.

At the end of every run that trained (:func:`~spcl_diag.runs.execute.run`, stacked or not)
the selected epoch's dev score is compared with what a constant predictor scores. When it is
not above, ``result.json`` gets a ``"notice"`` (absent otherwise) and the run ends with a
one-line :class:`LearnedNothingWarning` suggesting a larger learning rate or more epochs: a
small model with the reference's learning rate (2e-4) can stay at chance for a few epochs.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from spcl_diag.config.schema import RunConfig
from spcl_diag.metrics.classification import weighted_f1


class LearnedNothingWarning(UserWarning):
    """The run's best dev score is not above the majority-class score (:func:`learned_nothing_notice`)."""


def majority_score(train_labels: NDArray, dev_labels: NDArray, *, n_classes: int) -> tuple[int, float]:
    r"""The most frequent training class and the dev weighted-F1 of always predicting it.

    With :math:`c^* = \arg\max_c n^{train}_c` (the smallest index among ties) and
    :math:`s = n^{dev}_{c^*} / N^{dev}` the dev share of that class, the constant prediction
    :math:`\hat y_i = c^*` has F1 :math:`2s/(1+s)` on :math:`c^*` and 0 on every other class, so

    .. math:: \mathrm{wF1}_{maj} = s \cdot \frac{2s}{1+s}

    (computed with :func:`~spcl_diag.metrics.classification.weighted_f1`, the function that
    scores the run, so a run that predicts :math:`c^*` everywhere scores exactly this).

    Examples
    --------
    >>> majority_score(np.array([0, 1, 1]), np.array([1, 1, 0, 2]), n_classes=3)
    (1, 0.3333333333333333)
    """
    majority = int(np.bincount(np.asarray(train_labels), minlength=n_classes).argmax())
    dev = np.asarray(dev_labels)
    return majority, weighted_f1(dev, np.full_like(dev, majority), n_classes=n_classes)


def learned_nothing_notice(
    config: RunConfig, run_id: str, best_dev: float, *, train_labels: NDArray, dev_labels: NDArray,
    n_classes: int, class_names: Sequence[str] | None = None,
) -> str | None:
    """The notice of a run whose best dev weighted-F1 (the selection score) is not above :func:`majority_score`'s, else None."""
    majority, score = majority_score(train_labels, dev_labels, n_classes=n_classes)
    if not best_dev <= score:  # a NaN score is a failure, said elsewhere
        return None
    name = class_names[majority] if class_names is not None else str(majority)
    return (f"run {run_id} ({config.backbone}, {config.curriculum}, seed {config.seed}) learned nothing: its best dev "
            f"weighted-F1 {best_dev:.3f} is not above {score:.3f}, what always predicting the most frequent training "
            f"class ({name!r}) scores; try a larger learning rate (train.lr, now {config.train.lr:g}) or more epochs "
            f"(train.epochs, now {config.train.epochs}).")


def warn_learned_nothing(notice: str) -> None:
    """The notice as one warning line, with no source line (it is about the run, not about a line of code)."""
    warnings.warn_explicit(notice, LearnedNothingWarning, filename="spcl-diag", lineno=0)
