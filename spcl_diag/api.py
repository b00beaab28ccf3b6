"""The functions behind the commands whose result is drawn too: each result has a ``.figure()``.

``spcl-diag rank``, ``meta``, ``per-class`` and ``figures`` join a statistic (or a run's
tables) from a lower layer to the figure that :mod:`spcl_diag.plots` draws of it. The lower
layers never import the plots (``tests/test_layers.py``), so the joined result lives here, one
layer up, and the package exports these functions: :func:`rank_arms`, :func:`meta_analysis`
and :func:`per_class_tables` return the lower layer's result with ``figure()`` (and ``table()``)
added; :func:`write_figures` writes the figure set of ``spcl-diag report``.

>>> from spcl_diag import rank_arms  # doctest: +SKIP
>>> ranking = rank_arms("runs", "test_wf1", rng=np.random.default_rng(0))  # doctest: +SKIP
>>> ranking.figure().savefig("cd.pdf")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from spcl_diag.report import report_figures, rng_seed, save_figures
from spcl_diag.runs import per_class as _per_class
from spcl_diag.runs.loading import load_runs
from spcl_diag.stats import ranking as _ranking
from spcl_diag.stats.meta_analysis import MetaAnalysis as _MetaAnalysis
from spcl_diag.stats.meta_analysis import meta_analysis as _meta_analysis
from spcl_diag.stats.meta_analysis import meta_table


def _extend(base: Any, cls: type) -> Any:
    """``base`` (a frozen dataclass) as an instance of its subclass ``cls``, field for field."""
    return cls(**{f.name: getattr(base, f.name) for f in fields(base)})


@dataclass(frozen=True)
class Ranking(_ranking.Ranking):
    """:class:`spcl_diag.stats.ranking.Ranking` that draws its critical-difference diagram."""

    def table(self) -> pd.DataFrame:
        """The pairwise table with a plain-words verdict (:func:`~spcl_diag.stats.ranking.ranking_table`)."""
        return _ranking.ranking_table(self)

    def figure(self) -> Figure:
        """The critical-difference diagram (:func:`~spcl_diag.plots.ranking.cd_diagram`) in a new figure."""
        import matplotlib.pyplot as plt

        from spcl_diag.plots.ranking import cd_diagram

        fig, ax = plt.subplots(figsize=(6.0, 2.4))
        cd_diagram(self, ax=ax)
        return fig


def rank_arms(runs: Any, metric: str, *, rng: np.random.Generator, **options: Any) -> Ranking:
    """:func:`spcl_diag.stats.ranking.rank_arms` (same parameters), whose result has ``.figure()``."""
    return _extend(_ranking.rank_arms(runs, metric, rng=rng, **options), Ranking)


rank_arms.__wrapped__ = _ranking.rank_arms  # type: ignore[attr-defined]  # inspect.signature shows its parameters


@dataclass(frozen=True)
class MetaAnalysis(_MetaAnalysis):
    """:class:`spcl_diag.stats.meta_analysis.MetaAnalysis` that draws its forest plot."""

    def table(self) -> pd.DataFrame:
        """Cells, pooled estimate and prediction interval (:func:`~spcl_diag.stats.meta_analysis.meta_table`)."""
        return meta_table(self)

    def figure(self) -> Figure:
        """The forest plot (:func:`~spcl_diag.plots.meta_forest.plot_meta_forest`) in a new figure."""
        import matplotlib.pyplot as plt

        from spcl_diag.plots.meta_forest import plot_meta_forest

        fig, ax = plt.subplots(figsize=(5.5, 2.2 + 0.32 * self.pooled.k))
        plot_meta_forest(self.table(), xlabel=f"{self.metric}: {self.arm} - {self.baseline}", ax=ax)
        return fig


def meta_analysis(runs: Any, metric: str, baseline: str = "none", arm: str = "spcl", **options: Any) -> MetaAnalysis:
    """:func:`spcl_diag.stats.meta_analysis.meta_analysis` (same parameters), whose result has ``.figure()``."""
    return _extend(_meta_analysis(runs, metric, baseline, arm, **options), MetaAnalysis)


meta_analysis.__wrapped__ = _meta_analysis  # type: ignore[attr-defined]  # inspect.signature shows its parameters


@dataclass(frozen=True)
class PerClassTables(_per_class.PerClassTables):
    """:class:`spcl_diag.runs.per_class.PerClassTables` that draws its heatmaps."""

    def table(self) -> pd.DataFrame:
        """Classes as rows, (metric, modality) as columns: what ``spcl-diag per-class`` prints."""
        return self.contribution.pivot_table(index=["class", "class_name", "n"], columns=["metric", "modality"],
                                             values="value")

    def first_kept(self) -> pd.DataFrame:
        """The kept fraction of each class at the first epoch."""
        return self.kept[self.kept["epoch"] == self.kept["epoch"].min()]

    def figure(self) -> Figure:
        """Shapley contribution, unimodal accuracy and kept fraction (:func:`~spcl_diag.plots.per_class.per_class_figure`)."""
        from spcl_diag.plots.per_class import per_class_figure

        return per_class_figure(self.contribution, self.kept)


def per_class_tables(run_dir: str | Path) -> PerClassTables:
    """:func:`spcl_diag.runs.per_class.per_class_tables`, whose result has ``.figure()``."""
    return _extend(_per_class.per_class_tables(run_dir), PerClassTables)


per_class_tables.__wrapped__ = _per_class.per_class_tables  # type: ignore[attr-defined]  # inspect.signature shows its parameters


@dataclass(frozen=True)
class FigureFiles:
    """What :func:`write_figures` wrote, and the figures it left out with the reason."""

    files: tuple[Path, ...]
    left_out: tuple[str, ...]
    out: Path


def write_figures(
    runs: str | Path,
    out: str | Path = "figures",
    *,
    baseline: str = "none",
    rng: np.random.Generator | int = 0,
    formats: Sequence[str] = ("png", "pdf"),
    dpi: int = 150,
) -> FigureFiles:
    """Write the figures of the report of ``runs`` (:func:`spcl_diag.report.report_figures`) into ``out``.

    Parameters
    ----------
    runs
        A folder of run directories.
    out
        The folder for the files, ``<out>/<name>.<format>``.
    baseline
        The arm of the forest plots' comparisons.
    rng
        The statistics' generator, or an ``int`` seed of one (as ``write_report``'s).
    formats, dpi
        File formats and the resolution of PNG files.

    Raises
    ------
    FileNotFoundError
        When there is no run under ``runs``.
    """
    tables = load_runs(runs)
    if tables.results.empty:
        raise FileNotFoundError(f"no runs under {runs}; nothing to draw.")
    figures, left_out = report_figures(tables, baseline=baseline, seed=rng_seed(rng))
    files = save_figures(figures, out, formats=tuple(formats), dpi=dpi)
    return FigureFiles(tuple(files), tuple(left_out), Path(out))
