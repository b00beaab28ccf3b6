"""``save_figures``: the one function that writes figure files, for the report and ``spcl-diag figures``.

The drawing functions of :mod:`spcl_diag.plots` never save (STYLE.md, Plots); the report
(:func:`spcl_diag.report.write_report`), the ``figures`` command and ``analyses/`` hand their
figures here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def save_figures(
    figures: Mapping[str, Figure], folder: str | Path, *, formats: Sequence[str] = ("png",), dpi: int = 110
) -> list[Path]:
    """Write each figure as ``<folder>/<name>.<format>`` and close it.

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in figures.items():
        for fmt in formats:
            path = out / f"{name}.{fmt}"
            fig.savefig(path, dpi=dpi, bbox_inches="tight")
            written.append(path)
        plt.close(fig)
    return written
