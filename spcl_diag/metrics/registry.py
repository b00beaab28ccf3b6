"""``METRICS``: every imbalance metric with the properties the generic tests check.

Each entry names the array function (the only implementation of its formula) and says
whether a higher value is better, the interval its values lie in, whether it treats the
modalities symmetrically (renaming the modalities permutes the output) and what kind of
input it takes, so that ``tests/metrics/test_registry.py`` can generate inputs for it:

* ``"probs"``: ``(probs, labels)``, modality -> ``[N, C]`` probabilities and ``[N]`` labels;
* ``"subsets"``: ``(values_by_subset,)``, modality set -> score in [0, 1];
* ``"permuted"``: ``(value, permuted_values)``, intact score and modality -> scores;
* ``"grad_norms"``: ``(grad_norms,)``, scope -> gradient norm;
* ``"curve"``: ``(values,)``, one value per epoch.

Every metric has a declared direction (``higher_is_better``): ``True``, ``False`` or ``None``
for a quantity where neither side is better (a modality's gradient share or contribution:
more for a weak modality is welcome, more for the dominant one is not). Run-table columns
(``test_wf1``, ``test_acc_a``, ``test_disparity_ratio_t_auc``, ...) get theirs from
:func:`metric_direction`: the registry entry or :data:`COLUMN_DIRECTIONS` entry of the
column's metric name, else the first matching pattern of :data:`DIRECTION_PATTERNS`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from spcl_diag.metrics.contribution import conditional_utilisation, perceptual_score, shapley_values
from spcl_diag.metrics.disparity import discrepancy_ratio, disparity_ratio
from spcl_diag.metrics.gradients import grad_norm_share
from spcl_diag.metrics.trajectory import area_under_curve, final_value, first_balanced_epoch
from spcl_diag.metrics.unimodal import (
    unimodal_accuracy,
    unimodal_loss_disparity,
    unimodal_macro_f1,
    unimodal_spread,
    unimodal_wf1,
)

InputKind = Literal["probs", "subsets", "permuted", "grad_norms", "curve"]
INF = float("inf")

#: Balance threshold of the registered ``first_balanced_epoch`` (a disparity ratio within 10%).
BALANCE_THRESHOLD = 1.1


@dataclass(frozen=True)
class MetricSpec:
    """One registered metric."""

    func: Callable[..., Any]  # the array function; returns a float or modality -> float
    higher_is_better: bool | None  # None: neither side is better (shares, contributions)
    bounds: tuple[float, float]  # closed interval of the values (NaN aside)
    modality_symmetric: bool  # renaming the modalities permutes the output
    description: str
    inputs: InputKind  # the argument kind, see the module docstring


METRICS: dict[str, MetricSpec] = {
    "unimodal_acc": MetricSpec(
        unimodal_accuracy, True, (0.0, 1.0), True, "accuracy of each modality's head", "probs"
    ),
    "unimodal_wf1": MetricSpec(
        unimodal_wf1, True, (0.0, 1.0), True, "weighted F1 of each modality's head", "probs"
    ),
    "unimodal_macro_f1": MetricSpec(
        unimodal_macro_f1, True, (0.0, 1.0), True, "macro F1 of each modality's head (classes weigh the same)", "probs"
    ),
    "unimodal_acc_spread": MetricSpec(
        partial(unimodal_spread, score="acc", kind="range"), False, (0.0, 1.0), True,
        "max - min of the per-modality accuracies", "probs",
    ),
    "unimodal_wf1_spread": MetricSpec(
        partial(unimodal_spread, score="wf1", kind="range"), False, (0.0, 1.0), True,
        "max - min of the per-modality weighted F1", "probs",
    ),
    "unimodal_acc_std": MetricSpec(
        partial(unimodal_spread, score="acc", kind="std"), False, (0.0, 0.5), True,
        "population std of the per-modality accuracies", "probs",
    ),
    "unimodal_wf1_std": MetricSpec(
        partial(unimodal_spread, score="wf1", kind="std"), False, (0.0, 0.5), True,
        "population std of the per-modality weighted F1", "probs",
    ),
    "unimodal_loss_disparity": MetricSpec(
        unimodal_loss_disparity, False, (0.0, INF), True,
        "mean unimodal cross-entropy minus the lowest one (nats)", "probs",
    ),
    "disparity_ratio": MetricSpec(
        disparity_ratio, False, (1.0, INF), True,
        "Ada2I ratio of summed gold-class confidence to the weakest modality's", "probs",
    ),
    "discrepancy_ratio": MetricSpec(
        discrepancy_ratio, None, (0.0, INF), True,
        "OGM-GE ratio of summed gold-class confidence to the other modality's (M = 2)", "probs",
    ),
    "grad_norm_share": MetricSpec(
        grad_norm_share, None, (0.0, 1.0), True, "share of the modality branches' gradient norms", "grad_norms"
    ),
    "shapley": MetricSpec(
        shapley_values, None, (-1.0, 1.0), True,
        "exact Shapley contribution over the 2^M masked subsets", "subsets",
    ),
    "conditional_utilisation": MetricSpec(
        conditional_utilisation, None, (-INF, 1.0), True,
        "relative score lost when one modality is masked (Wu et al. 2022)", "subsets",
    ),
    "perceptual_score": MetricSpec(
        perceptual_score, None, (-INF, 1.0), True,
        "normalised score lost when one modality is permuted (Gat et al. 2021)", "permuted",
    ),
    "trajectory_auc": MetricSpec(
        area_under_curve, False, (-INF, INF), False, "trapezoidal area under an imbalance curve", "curve"
    ),
    "first_balanced_epoch": MetricSpec(
        partial(first_balanced_epoch, threshold=BALANCE_THRESHOLD), False, (1.0, INF), False,
        f"first epoch with the curve <= {BALANCE_THRESHOLD}; NaN if never", "curve",
    ),
    "final_value": MetricSpec(final_value, None, (-INF, INF), False, "value of the curve at the last epoch", "curve"),
}


#: Directions of run-table metric names that are not registry entries (split prefix,
#: modality suffix and trajectory summary removed, see :func:`metric_direction`).
COLUMN_DIRECTIONS: dict[str, bool | None] = {
    "acc": True,
    "wf1": True,
    "macro_f1": True,
    "gold_prob": True,
    "loss": False,
    "shapley_wf1": None,
    "grad_norm": None,
    "lambda": None,
    "kept_fraction": None,
    "wall_seconds": False,
}

#: ``(fnmatch pattern over the whole column name, higher_is_better)``, first match wins;
#: used for columns whose metric name is neither registered nor in COLUMN_DIRECTIONS
#: (per-class F1 ``test_f1_class_<name>``, probes ``test_probe_wf1_<m>``, ...). Spreads,
#: disparities and losses come first, so ``*_acc_*`` never claims ``unimodal_acc_spread``.
DIRECTION_PATTERNS: tuple[tuple[str, bool | None], ...] = (
    ("*spread*", False),
    ("*_std", False),
    ("*_std_*", False),
    ("*disparity*", False),
    ("*loss*", False),
    ("*coef*", None),  # balancing coefficients: a control signal, not a goal
    ("*share*", None),
    ("*shapley*", None),
    ("*utilisation*", None),
    ("*perceptual*", None),
    ("*_f1_*", True),
    ("*_f1", True),
    ("*_wf1*", True),
    ("*_acc_*", True),
    ("*_acc", True),
)

_SPLIT = re.compile(r"^(test|dev|train)_")
_SUMMARY = re.compile(r"_(mean|last|max|min|auc)$")
_SCOPE = re.compile(r"_(t|a|v)$")


def _metric_names(column: str) -> list[str]:
    """Candidate metric names of a column, most specific first."""
    name = _SPLIT.sub("", column)
    names = [name]
    for pattern in (_SUMMARY, _SCOPE):
        name = pattern.sub("", name)
        names.append(name)
    return list(dict.fromkeys(names))


def metric_direction(column: str) -> bool | None:
    """Declared direction of a metric column: ``True``, ``False`` or ``None`` (neither).

    Parameters
    ----------
    column
        A run-table column such as ``test_wf1``, ``test_acc_a``, ``dev_loss``,
        ``test_unimodal_wf1_spread`` or a :func:`~spcl_diag.stats.summarise_epochs` column
        (``test_disparity_ratio_t_auc``).

    Returns
    -------
    bool or None
        From the registry (:data:`METRICS`), then :data:`COLUMN_DIRECTIONS` (the name without
        ``test_``/``dev_``/``train_``, a trailing ``_mean``/``_last``/``_max``/``_min``/``_auc``
        and a trailing modality), then the first matching :data:`DIRECTION_PATTERNS`.

    Raises
    ------
    KeyError
        When no entry or pattern declares the column's direction.

    Examples
    --------
    >>> metric_direction("test_wf1"), metric_direction("test_unimodal_acc_spread")
    (True, False)
    >>> metric_direction("test_disparity_ratio_t_auc"), metric_direction("test_shapley_wf1_a")
    (False, None)
    >>> metric_direction("test_f1_class_neutral"), metric_direction("test_probe_acc_v")
    (True, True)
    """
    for name in _metric_names(column):
        if name in METRICS:
            return METRICS[name].higher_is_better
        if name in COLUMN_DIRECTIONS:
            return COLUMN_DIRECTIONS[name]
    for pattern, direction in DIRECTION_PATTERNS:
        if fnmatch.fnmatchcase(column, pattern):
            return direction
    raise KeyError(column)


#: Short readable names of metric families, for figure labels (:func:`column_label`).
FAMILY_LABELS: dict[str, str] = {
    "wf1": "wF1",
    "acc": "accuracy",
    "macro_f1": "macro F1",
    "gold_prob": "gold-class probability",
    "loss": "loss",
    "disparity_ratio": "disparity ratio",
    "discrepancy_ratio": "discrepancy ratio",
    "unimodal_acc_spread": "accuracy spread",
    "unimodal_wf1_spread": "wF1 spread",
    "unimodal_acc_std": "accuracy sd",
    "unimodal_wf1_std": "wF1 sd",
    "unimodal_loss_disparity": "loss disparity",
    "grad_norm_share": "gradient-norm share",
    "shapley_wf1": "Shapley wF1",
}
_SUMMARY_LABELS = {"mean": "mean", "last": "last epoch", "max": "max", "min": "min", "auc": "AUC"}


def metric_family(column: str) -> str:
    """The metric a column measures, without its split, modality and summary.

    >>> metric_family("test_wf1"), metric_family("test_disparity_ratio_t"), metric_family("dev_acc_a_auc")
    ('wf1', 'disparity_ratio', 'acc')
    """
    return _metric_names(column)[-1]


def column_label(column: str) -> str:
    """A readable label of a run-table column: split, family, then modality and summary in brackets.

    >>> column_label("test_wf1"), column_label("test_disparity_ratio_t"), column_label("dev_acc_a_auc")
    ('test wF1', 'test disparity ratio (t)', 'dev accuracy (a, AUC)')
    """
    split = _SPLIT.match(column)
    rest = _SPLIT.sub("", column)
    summary = _SUMMARY.search(rest)
    rest = _SUMMARY.sub("", rest)
    scope = _SCOPE.search(rest)
    family = _SCOPE.sub("", rest) if rest not in FAMILY_LABELS else rest
    details = [scope.group(1)] if scope and family != rest else []
    details += [_SUMMARY_LABELS[summary.group(1)]] if summary else []
    text = " ".join([*([split.group(1)] if split else []), FAMILY_LABELS.get(family, family.replace("_", " "))])
    return f"{text} ({', '.join(details)})" if details else text
