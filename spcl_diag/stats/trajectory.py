"""Summaries of per-epoch trajectories as results-like frames that :func:`compare` accepts."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from spcl_diag.metrics.trajectory import area_under_curve

Summary = Literal["mean", "last", "max", "min", "auc"]
SUMMARIES: tuple[str, ...] = ("mean", "last", "max", "min", "auc")
KEYS: tuple[str, ...] = ("dataset", "backbone", "modalities", "curriculum", "balancing", "seed")


def _auc(group: pd.DataFrame) -> float:
    """Time-averaged area: :func:`~spcl_diag.metrics.trajectory.area_under_curve` over the span."""
    epochs, values = group["epoch"].to_numpy(float), group["value"].to_numpy(float)
    if epochs.size < 2:
        return float(values.mean())
    return area_under_curve(values, epochs=epochs) / (epochs[-1] - epochs[0])


def summarise_epochs(
    epochs: pd.DataFrame,
    metric: str,
    *,
    split: str = "test",
    scope: str = "joint",
    how: Summary = "mean",
) -> pd.DataFrame:
    r"""One row per run with a summary of the ``metric`` trajectory over epochs.

    Parameters
    ----------
    epochs
        The tidy epoch table of :class:`~spcl_diag.runs.loading.RunTables` (columns
        ``run_id, epoch, split, scope, metric, value`` and the key fields).
    metric
        Trajectory to summarise, e.g. ``"disparity_ratio"``, ``"wf1"``, ``"kept_fraction"``.
    split, scope
        Which rows: ``"train"``/``"dev"``/``"test"`` and ``"joint"``/``"t"``/``"a"``/``"v"``.
    how
        ``"mean"``, ``"last"``, ``"max"``, ``"min"`` or ``"auc"`` (trapezoidal area over
        the epochs divided by their span: a time-weighted mean).

    Returns
    -------
    pandas.DataFrame
        ``run_id``, the key fields, ``status="ok"`` and one column
        ``<split>_<metric>[_<scope>]_<how>`` (scope omitted for ``joint``), ready for
        ``compare(frame, column)``.

    Examples
    --------
    >>> epochs = pd.DataFrame({"run_id": ["r"] * 3, "epoch": [1, 2, 3], "split": "test",
    ...                        "scope": "t", "metric": "disparity_ratio", "value": [1.0, 2.0, 4.0],
    ...                        "seed": 0, "curriculum": "none"})
    >>> summarise_epochs(epochs, "disparity_ratio", scope="t", how="auc")["test_disparity_ratio_t_auc"].tolist()
    [2.25]
    """
    if how not in SUMMARIES:
        raise ValueError(f"how must be one of {', '.join(SUMMARIES)}; got {how!r}.")
    missing = [c for c in ("run_id", "epoch", "split", "scope", "metric", "value") if c not in epochs.columns]
    if missing:
        raise ValueError(f"epochs table lacks columns {missing}; expected the tidy epochs.csv layout.")
    rows = epochs[(epochs["split"] == split) & (epochs["scope"] == scope) & (epochs["metric"] == metric)]
    if rows.empty:
        found = sorted(epochs.loc[epochs["split"] == split, "metric"].astype(str).unique())
        raise ValueError(f"no {split!r} rows of metric {metric!r} in scope {scope!r}; metrics of that split: {found}.")
    rows = rows.sort_values(["run_id", "epoch"])
    keys = [k for k in KEYS if k in rows.columns]
    column = f"{split}_{metric}{'' if scope == 'joint' else '_' + scope}_{how}"
    grouped = rows.groupby("run_id", sort=True)
    if how == "auc":
        values = grouped[["epoch", "value"]].apply(_auc)
    elif how == "last":
        values = grouped["value"].last()
    else:
        values = grouped["value"].agg(how)
    frame = grouped[keys].first().reset_index() if keys else values.index.to_frame(index=False)
    frame["status"] = "ok"
    frame[column] = values.to_numpy(dtype=float)
    return frame


__all__ = ["SUMMARIES", "summarise_epochs"]
