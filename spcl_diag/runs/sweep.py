"""Sweeps over config fields: which fields an arm uses, the points of a sweep, and grouping.

A grid's ``axes`` table gives lists of values for any config field (``"train.lr"``,
``"pacing.lambda0"``, ``"model.hidden_dim"``, ...). A field only multiplies the runs of the
arms that *use* it: ``pacing.*`` is read by the paced arms alone (``none`` keeps every
utterance, so no threshold or loss divisor changes it), and ``balancing_config.<name>`` only
by a balancing method whose spec reads ``<name>`` (:data:`spcl_diag.train.balancing.METHODS`). So arms ``none`` and ``spcl`` with 2 learning rates and 2 values of
``lambda0`` give ``2 + 2 x 2 = 6`` runs per seed, not 8 (four of which would be the same
``none`` run twice).

For the comparison, :func:`group_by_sweeps` adds the swept fields to the grouping columns and
gives every group of a field the baseline does not use the same baseline runs: each ``spcl``
setting of ``lambda0`` is compared with the one ``none`` run of its seed and learning rate.

Examples
--------
>>> sweep_points({"train.lr": [1e-3, 3e-4], "pacing.lambda0": [0.3, 0.6]}, curriculum="none", balancing="none")
[{'train.lr': 0.001}, {'train.lr': 0.0003}]
>>> len(sweep_points({"train.lr": [1e-3, 3e-4], "pacing.lambda0": [0.3, 0.6]}, curriculum="spcl", balancing="none"))
4
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - pandas only where a results table is regrouped; grids expand without it
    import pandas as pd

# Config sections whose fields are read only under a condition: prefix -> (column, value that ignores them)
CONDITIONAL_SECTIONS: dict[str, tuple[str, str]] = {
    "pacing.": ("curriculum", "none"),
    "balancing_config.": ("balancing", "none"),
}
CONFIG_SECTIONS: tuple[str, ...] = ("train.", "pacing.", "balancing_config.", "data.", "model.")


def uses_field(field: str, *, curriculum: str, balancing: str) -> bool:
    """Whether a run with this arm and balancing method reads config field ``field``.

    Examples
    --------
    >>> uses_field("pacing.lambda0", curriculum="none", balancing="none")
    False
    >>> uses_field("pacing.lambda0", curriculum="random", balancing="none")
    True
    """
    setting = {"curriculum": curriculum, "balancing": balancing}
    if field.startswith("balancing_config.") and balancing != "none":
        from spcl_diag.train.balancing import METHODS  # torch: only when a balancing field is swept

        return balancing not in METHODS or field.split(".", 1)[1] in METHODS[balancing].defaults
    return not any(
        field.startswith(prefix) and setting[column] == ignored
        for prefix, (column, ignored) in CONDITIONAL_SECTIONS.items()
    )


def sweep_points(axes: Mapping[str, Sequence[Any]], *, curriculum: str, balancing: str) -> list[dict[str, Any]]:
    """The override tables of a sweep for one arm: the product over the fields it uses.

    Returns ``[{}]`` (one point, no overrides) when the arm uses none of the swept fields.
    """
    used = [name for name in axes if uses_field(name, curriculum=curriculum, balancing=balancing)]
    return [dict(zip(used, values)) for values in itertools.product(*(axes[name] for name in used))]


def is_config_column(column: str) -> bool:
    """A ``load_runs`` results column that holds a nested config field (``train.lr``, ...)."""
    return column.startswith(CONFIG_SECTIONS) and column != "data.data_dir"


def group_by_sweeps(
    frame: pd.DataFrame, by: Sequence[str], *, arm_column: str, pair_on: str, baseline: str
) -> tuple[pd.DataFrame, list[str]]:
    """Add the swept config fields to ``by``, sharing the baseline across fields it does not use.

    A config column is *swept* when it takes several values among runs with the same ``by``
    values, arm and ``pair_on`` (without it those runs would collide). For a swept field the
    baseline arm does not use (:func:`uses_field`, e.g. ``pacing.lambda0`` for ``none``), the
    baseline's runs are repeated once for every value the other arms have, so each setting is
    compared with the same baseline runs.

    Returns
    -------
    tuple
        The (possibly extended) frame and the grouping columns.
    """
    cells = [*by, arm_column, pair_on]
    if frame.empty or any(c not in frame.columns for c in cells):
        return frame, list(by)
    candidates = [c for c in frame.columns if is_config_column(str(c)) and c not in cells]
    counts = frame.groupby(cells, dropna=False)[candidates].nunique(dropna=False) if candidates else None
    swept = [c for c in candidates if counts is not None and bool((counts[c] > 1).any())]
    if not swept:
        return frame, list(by)
    is_base = frame[arm_column].astype(str) == baseline
    base = frame[is_base]
    unused = [c for c in swept if not base.empty and not any(_row_uses(row, c) for _, row in base.iterrows())]
    if unused:
        others = frame[~is_base]
        settings = others[unused].drop_duplicates()
        shared = base.drop(columns=unused).merge(settings, how="cross")
        import pandas as pd

        frame = pd.concat([others, shared[frame.columns]], ignore_index=True)
    return frame, [*by, *swept]


def _row_uses(row: pd.Series, column: str) -> bool:
    return uses_field(
        column, curriculum=str(row.get("curriculum", "")), balancing=str(row.get("balancing", ""))
    )
