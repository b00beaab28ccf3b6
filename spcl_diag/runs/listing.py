"""One line per run of a folder: what ``spcl-diag ls`` prints.

Reads only each run's ``config.json`` and ``result.json`` (no epochs, no arrays), so a
folder of thousands of runs lists in about a second.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from spcl_diag.runs import directory as rd

LS_COLUMNS: tuple[str, ...] = (
    "run_id", "dataset", "backbone", "modalities", "curriculum", "balancing", "seed", "status",
    "best_epoch", "test_wf1", "wall_seconds", "plugins",
)
FILTERS: tuple[str, ...] = ("dataset", "backbone", "modalities", "curriculum", "balancing", "seed", "status", "plugins")
PLUGIN_HASH_DIGITS = 8  # of the 16 of plugins.plugin_hash shown in the plugins column (as git shortens a commit)


def plugin_versions(sources: Mapping[str, str] | None) -> str | None:
    """``"name=hash,..."`` of a run's plugins with each hash shortened, or None for a run without plugins.

    >>> plugin_versions({"gru_ctx": "0123456789abcdef"})
    'gru_ctx=01234567'
    """
    if not sources:
        return None
    return ",".join(f"{name}={digest[:PLUGIN_HASH_DIGITS]}" for name, digest in sorted(sources.items()))


def run_summary(run_dir: Path) -> dict[str, Any]:
    """The :data:`LS_COLUMNS` of one run directory (``None`` where the run has no value)."""
    config_path, result_path = run_dir / rd.CONFIG, run_dir / rd.RESULT
    metadata = rd.read_json(config_path) if config_path.is_file() else {}
    result = rd.read_json(result_path) if result_path.is_file() else {}
    config = metadata.get("config", {})
    test_wf1 = result.get("test", {}).get("joint", {}).get("wf1")
    return {
        "run_id": result.get("run_id", run_dir.name),
        **{key: config.get(key) for key in ("dataset", "backbone", "modalities", "curriculum", "balancing", "seed")},
        "status": result.get("status", "unknown"),
        "best_epoch": result.get("best_epoch"),
        "test_wf1": test_wf1,
        "wall_seconds": result.get("wall_seconds"),
        "plugins": plugin_versions(metadata.get("plugins")),
    }


def list_runs(runs: str | Path, filters: Mapping[str, Sequence[str]] | None = None) -> list[dict[str, Any]]:
    """Summaries of the runs under ``runs`` whose fields match ``filters`` (field -> accepted values).

    A ``plugins`` value matches a run that imported that plugin (``gru_ctx``) or that version
    of it (``gru_ctx=01234567``, or a prefix of the hash); ``-`` matches runs without plugins.

    Examples
    --------
    ```python
    from spcl_diag import RunConfig, list_runs, run

    small = {"train.epochs": 1, "data.synthetic.n_dialogues": 12, "model.hidden_dim": 8}
    run(RunConfig(seed=2).with_overrides(small), "runs")
    [(r["curriculum"], r["seed"], r["status"]) for r in list_runs("runs", {"status": ["ok"]})]
    # [('none', 2, 'ok')]
    list_runs("runs", {"curriculum": ["spcl"]})  # []
    ```
    """
    from spcl_diag.runs.loading import find_run_dirs

    filters = {k: [str(v) for v in vs] for k, vs in (filters or {}).items() if vs}
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise ValueError(f"unknown filter(s) {', '.join(unknown)}; valid filters are {', '.join(FILTERS)}.")
    rows = [run_summary(d) for d in find_run_dirs(runs)]
    rows.sort(key=_order)
    return [r for r in rows if all(_matches(r, k, accepted) for k, accepted in filters.items())]


def _matches(row: Mapping[str, Any], key: str, accepted: Sequence[str]) -> bool:
    if key != "plugins":
        return str(row[key]) in accepted
    entries = (row["plugins"] or "").split(",") if row["plugins"] else []
    return any((value == "-" and not entries) or any(e == value or e.split("=")[0] == value
                                                      or ("=" in value and e.startswith(value)) for e in entries)
               for value in accepted)


def _order(row: Mapping[str, Any]) -> tuple:
    """Runs in the order of a grid: dataset, backbone, modalities, arm, seed (the id only breaks ties)."""
    seed = row["seed"]
    return (*(str(row[k] or "") for k in ("dataset", "backbone", "modalities", "curriculum", "balancing")),
            seed if isinstance(seed, int) else -1, row["run_id"])


def _text(value: Any, key: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if key == "test_wf1":
        return f"{value:.4f}"
    if key == "wall_seconds":
        return f"{value:.1f}"
    return str(value)


def format_runs(rows: Sequence[Mapping[str, Any]], *, as_csv: bool = False) -> str:
    """Fixed-width lines (a header, then one line per run) or CSV of :data:`LS_COLUMNS`."""
    if as_csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=LS_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: r[k] for k in LS_COLUMNS} for r in rows)
        return buffer.getvalue().rstrip("\n")
    cells = [list(LS_COLUMNS), *([_text(r[k], k) for k in LS_COLUMNS] for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(LS_COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)
