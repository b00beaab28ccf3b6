"""Gradient-norm share of each modality's parameters, from the ``grad_norm`` rows of a run.

The training loop logs, per epoch, the mean over steps of the L2 norm of the gradient of
each parameter group before clipping (``metric == "grad_norm"``, scope ``t``/``a``/``v`` for
a modality's own branch and ``shared`` for everything else).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from spcl_diag.modalities import MODALITIES


def grad_norm_share(grad_norms: Mapping[str, float]) -> dict[str, float]:
    r"""Share of each modality in the summed gradient norms of the modality branches.

    .. math:: \pi_m = g_m \Big/ \sum_{k \in N} g_k

    with :math:`g_m` the gradient L2 norm of modality :math:`m`'s own parameters. Scopes
    that are not modalities (``"shared"``, ``"joint"``) are ignored. A share near 1 means
    one modality's branch receives almost all the gradient (the imbalance that OGM-GE [1]_
    counters by scaling gradients). With fewer than two modalities, or all norms zero, NaN
    with a ``RuntimeWarning``.

    Parameters
    ----------
    grad_norms
        Scope -> gradient norm :math:`g \ge 0`.

    References
    ----------
    .. [1] Peng et al., "Balanced Multimodal Learning via On-the-fly Gradient Modulation",
       CVPR 2022.

    Examples
    --------
    >>> grad_norm_share({"t": 3.0, "a": 1.0, "shared": 10.0})
    {'t': 0.75, 'a': 0.25}
    """
    norms = {m: float(g) for m, g in grad_norms.items() if m in MODALITIES}
    negative = {m: g for m, g in norms.items() if g < 0}
    if negative:
        raise ValueError(f"gradient norms must be >= 0; got {negative}.")
    if len(norms) < 2:
        warnings.warn("a gradient share needs at least two modalities; returning NaN.", RuntimeWarning, stacklevel=2)
        return {m: float("nan") for m in norms}
    total = sum(norms.values())
    if not total > 0:
        warnings.warn("all modality gradient norms are zero; gradient share is NaN.", RuntimeWarning, stacklevel=2)
        return {m: float("nan") for m in norms}
    return {m: g / total for m, g in norms.items()}


def grad_norm_share_table(epochs: pd.DataFrame) -> pd.DataFrame:
    """Tidy ``grad_norm_share`` rows from the ``grad_norm`` rows of an epochs table.

    Applies :func:`grad_norm_share` within each group of rows that agree on every column
    except ``scope`` and ``value`` (so per run and epoch when several runs are stacked).

    Parameters
    ----------
    epochs
        Tidy rows with at least ``epoch, split, scope, metric, value`` (``load_runs(...).epochs``
        or one run's ``epochs.csv``).

    Returns
    -------
    pandas.DataFrame
        The modality ``grad_norm`` rows with ``metric`` set to ``"grad_norm_share"`` and
        ``value`` the share; NaN where a group has fewer than two modalities or zero norms.

    Examples
    --------
    >>> rows = pd.DataFrame({"epoch": [1, 1, 1], "split": "train", "scope": ["t", "a", "shared"],
    ...                      "metric": "grad_norm", "value": [3.0, 1.0, 5.0]})
    >>> grad_norm_share_table(rows)[["scope", "value"]].values.tolist()
    [['t', 0.75], ['a', 0.25]]
    """
    missing = sorted({"scope", "metric", "value"} - set(epochs.columns))
    if missing:
        raise ValueError(f"the epochs table lacks column(s) {missing}; found {list(epochs.columns)}.")
    rows = epochs[(epochs["metric"] == "grad_norm") & epochs["scope"].isin(MODALITIES)].copy()
    keys = [c for c in rows.columns if c not in ("scope", "value")]
    grouped = rows.groupby(keys, dropna=False, sort=False)["value"]
    total = grouped.transform("sum")
    count = grouped.transform("size")
    share = rows["value"] / total
    degenerate = (count < 2) | ~(total > 0)
    if degenerate.any():
        warnings.warn(
            f"{int(degenerate.sum())} gradient-norm rows are in groups with fewer than two modalities or zero "
            "norms; their share is NaN.",
            RuntimeWarning,
            stacklevel=2,
        )
    rows["value"] = share.where(~degenerate, np.nan)
    rows["metric"] = "grad_norm_share"
    return rows.reset_index(drop=True)
