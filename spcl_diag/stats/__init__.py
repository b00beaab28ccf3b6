"""Statistics over seeds for comparing training methods.

* intervals: :func:`t_interval`, :func:`bootstrap_ci` (percentile, BCa, ``groups=``),
  :func:`stratified_bootstrap_ci` (mean, median, IQM across tasks);
* paired tests by seed: :func:`paired_t_test`, :func:`wilcoxon_exact`,
  :func:`sign_flip_test`, each with :func:`min_attainable_pvalue`;
* :func:`aso` (Almost Stochastic Order), effect sizes (:func:`cohens_dz`,
  :func:`hedges_g`, :func:`cliffs_delta`, :func:`probability_of_improvement`);
* :func:`hodges_lehmann`: the shift that goes with the signed-rank test, with its interval;
* :func:`adjust_pvalues` (Holm, Benjamini-Hochberg), :func:`plan_seeds`;
* :func:`paired_dialogue_bootstrap` for per-utterance metrics on a shared test set;
* :func:`compare`: all of it in one tidy table;
* :func:`interaction`: the 2 x 2 interaction contrast of a factorial grid, per seed.
* :func:`reproduce`: our seeds against published numbers; :func:`rank_arms`: arms ranked
  over many cells (Friedman + Nemenyi, Bayesian signed-rank).
* :func:`confidence_sequence`: anytime-valid intervals for adding seeds until decided;
  :func:`meta_analysis`: random-effects pooling of a gain over cells.

Anything random takes ``rng: numpy.random.Generator`` as a required keyword.

The modules of :func:`compare`, :func:`aso` and :func:`interaction` are
:mod:`~spcl_diag.stats.comparison`, :mod:`~spcl_diag.stats.stochastic_order` and
:mod:`~spcl_diag.stats.interaction_contrast`: a module named like the function it holds is
hidden by that function here. The old module paths (``spcl_diag.stats.compare`` as a module)
still import, with a ``DeprecationWarning``, until the next release.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings

from spcl_diag.stats.bootstrap import bootstrap_ci, interquartile_mean, stratified_bootstrap_ci
from spcl_diag.stats.comparison import compare, infer_higher_is_better
from spcl_diag.stats.dialogue_bootstrap import dialogue_bootstrap_runs, paired_dialogue_bootstrap
from spcl_diag.stats.effect_sizes import (
    cliffs_delta,
    cohens_dz,
    hedges_g,
    probability_of_improvement,
    probability_of_improvement_ci,
)
from spcl_diag.stats.hodges_lehmann import hodges_lehmann
from spcl_diag.stats.interaction_contrast import interaction
from spcl_diag.stats.intervals import Interval, t_interval
from spcl_diag.stats.meta_analysis import MetaAnalysis, meta_analysis, meta_table
from spcl_diag.stats.multiple import (
    MultipleTestResult,
    adjust_pvalues,
    attainable_adjusted_pvalues,
    min_adjusted_pvalue,
)
from spcl_diag.stats.paired_tests import (
    PairedTestResult,
    min_attainable_pvalue,
    paired_t_test,
    paired_test,
    sign_flip_test,
    wilcoxon_exact,
)
from spcl_diag.stats.power import SeedPlan, min_seeds, plan_seeds, wilcoxon_power
from spcl_diag.stats.ranking import Ranking, rank_arms, ranking_table
from spcl_diag.stats.reproduction import load_published, reproduce
from spcl_diag.stats.sequential import ConfidenceSequence, confidence_sequence
from spcl_diag.stats.stochastic_order import ASOResult, aso, violation_ratio
from spcl_diag.stats.tables import format_table, to_latex
from spcl_diag.stats.trajectory import summarise_epochs

#: Old module path -> new one (issue 27): kept for one release.
RENAMED_MODULES: dict[str, str] = {
    "compare": "comparison",
    "aso": "stochastic_order",
    "interaction": "interaction_contrast",
}


class _RenamedModule(types.ModuleType):
    """Stands in ``sys.modules`` for a renamed module: each attribute read warns, then forwards.

    It is not bound as an attribute of this package, so ``spcl_diag.stats.compare`` stays the
    function while ``from spcl_diag.stats.compare import compare`` keeps working.
    """

    def __init__(self, old: str, new: str) -> None:
        super().__init__(f"{__name__}.{old}")
        self._new = f"{__name__}.{new}"

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):  # inspect and pickle probe __file__, __spec__, ...: not a use of the old path
            raise AttributeError(name)
        warnings.warn(f"{self.__name__} is renamed {self._new}; the old path goes in the next release.",
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(self._new), name)


for _old, _new in RENAMED_MODULES.items():
    sys.modules.setdefault(f"{__name__}.{_old}", _RenamedModule(_old, _new))

__all__ = [
    "ASOResult",
    "ConfidenceSequence",
    "Interval",
    "MetaAnalysis",
    "MultipleTestResult",
    "PairedTestResult",
    "Ranking",
    "SeedPlan",
    "adjust_pvalues",
    "aso",
    "attainable_adjusted_pvalues",
    "bootstrap_ci",
    "cliffs_delta",
    "cohens_dz",
    "compare",
    "confidence_sequence",
    "dialogue_bootstrap_runs",
    "format_table",
    "hedges_g",
    "hodges_lehmann",
    "infer_higher_is_better",
    "interaction",
    "interquartile_mean",
    "load_published",
    "meta_analysis",
    "meta_table",
    "min_adjusted_pvalue",
    "min_attainable_pvalue",
    "min_seeds",
    "paired_dialogue_bootstrap",
    "paired_t_test",
    "paired_test",
    "plan_seeds",
    "probability_of_improvement",
    "probability_of_improvement_ci",
    "rank_arms",
    "ranking_table",
    "reproduce",
    "sign_flip_test",
    "stratified_bootstrap_ci",
    "summarise_epochs",
    "t_interval",
    "to_latex",
    "violation_ratio",
    "wilcoxon_exact",
    "wilcoxon_power",
]
