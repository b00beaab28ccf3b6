"""The words of a :func:`~spcl_diag.stats.comparison.compare` row: its verdict and its note.

The verdict is one phrase that agrees with the row's numbers: "better"/"worse" follow the
sign of the mean paired difference and the metric's declared direction (``higher`` or
``lower`` when the metric has no better side), never the test's internal direction, and
nothing is called significant that the test cannot reach with these seeds and this family.
The note says everything else a referee should know about the row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spcl_diag.stats.intervals import Interval

#: Coverage of nominal 95 % bootstrap intervals of the mean paired difference, measured by
#: ``analyses/bootstrap_coverage.py`` (normal differences; docs/statistics.md has the table):
#: ``(method, n_seeds) -> coverage``.
BOOTSTRAP_COVERAGE: dict[tuple[str, int], float] = {
    ("percentile", 3): 0.758, ("percentile", 5): 0.841, ("percentile", 10): 0.904, ("percentile", 20): 0.929,
    ("bca", 3): 0.732, ("bca", 5): 0.840, ("bca", 10): 0.902, ("bca", 20): 0.927,
}
#: Up to this many seeds a bootstrap interval's note warns that it under-covers.
BOOTSTRAP_WARN_SEEDS = 20

TEST_NAMES = {"t": "paired t test", "wilcoxon": "Wilcoxon test", "permutation": "sign-flip test"}


def direction_word(diff: float, higher_is_better: bool | None) -> str:
    """``better``/``worse`` for the sign of ``diff`` under the metric's direction, else ``higher``/``lower``."""
    if higher_is_better is None:
        return "higher" if diff > 0 else "lower"
    return "better" if (diff > 0) == higher_is_better else "worse"


def interval_disagrees(p: float, min_p: float, interval: Interval, confidence_level: float) -> bool:
    """True when the test at level ``1 - confidence_level`` and ``interval`` (of the mean
    difference, at ``confidence_level``) disagree about 0: one rejects, the other does not.

    A test that cannot reach that level with these seeds (``min_p``) disagrees with nothing:
    the verdict already says it cannot reach significance."""
    if not (np.isfinite(p) and np.isfinite(interval.low) and np.isfinite(interval.high)):
        return False
    if min_p >= 1 - confidence_level:
        return False
    excludes_zero = interval.low > 0 or interval.high < 0
    return bool((p < 1 - confidence_level) != excludes_zero)


def _disagreement_tail(row: dict[str, Any]) -> str:
    return "; interval and test disagree, see note" if row.get("interval_disagrees") else ""


def verdict(row: dict[str, Any], *, alpha: float, correction: str, higher_is_better: bool | None,
            unit: str = "seed", words: tuple[str, str] | None = None) -> str:
    """The verdict of one row (see the module docstring).

    ``unit`` names what ``n_seeds`` counts (``"cell"`` for a ranking over cells); ``words``
    replaces better/worse by a phrase for a positive and a negative ``diff`` (an interaction).
    """
    n, p_label = row["n_seeds"], "p" if correction == "none" else f"p_{correction}"
    if n == 0:
        return str(row.get("_missing") or f"no paired {unit}s")
    if n == 1:
        return f"too few paired {unit}s (1)"
    if row["_n_nonzero"] == 0:
        return f"no difference: identical on all {n} {unit}s"
    if not np.isfinite(row["p"]):
        family = f" (counted with p = 1 in the family of {row['n_comparisons']})" if "n_comparisons" in row else ""
        return f"test undefined: the difference is the same on every {unit}{family}"
    k = row["_n_nonzero"] if row["test"] != "paired t" else n
    seeds = f"{n} {unit}s" if k == n else f"{k} non-tied of {n} {unit}s"
    tail = _disagreement_tail(row)
    if row["min_p"] > alpha:
        return f"cannot reach p<{alpha:g} with {seeds} (min p {row['min_p']:.3g}){tail}"
    if row["min_p_adjusted"] > alpha:
        return (f"cannot reach {p_label}<{alpha:g} with {seeds} over {row['n_comparisons']} comparisons "
                f"(min {p_label} {row['min_p_adjusted']:.3g}){tail}")
    if row["p_adjusted"] < alpha:
        diff = row["diff"]
        if diff == 0:
            return f"significant, but the mean difference is 0 ({p_label}={row['p_adjusted']:.2g})"
        disagree = row["_direction"] != 0 and row["_direction"] != np.sign(diff)
        tail = ("; the test points the other way, see note" if disagree else "") + tail
        word = direction_word(diff, higher_is_better) if words is None else words[0 if diff > 0 else 1]
        return f"{word} ({p_label}={row['p_adjusted']:.2g}{tail})"
    return f"no significant difference ({p_label}={row['p_adjusted']:.2g}{tail})"


def row_notes(row: dict[str, Any], *, test: str, interval: str, confidence_level: float) -> list[str]:
    """Notes on the test and interval of one row with at least one paired seed."""
    n, k, notes = row["n_seeds"], row["_n_nonzero"], []
    name = TEST_NAMES[test]
    if n == 1 or k == 0:
        why = "one paired seed" if n == 1 else "every difference is zero"
        notes.append(f"not tested ({why}): left out of the correction family")
        return notes
    if k < n and test != "t":
        notes.append(f"{n - k} zero difference(s) dropped by the {name}, which uses the {k} non-zero")
    if row["_constant"]:
        d = float(row["diff"])
        notes.append(
            f"the difference is {d:+.4g} on every seed: the paired t test is undefined (sd 0), the t "
            f"interval has zero width and d_z is {'+' if d > 0 else '-'}inf; the rank and sign-flip tests "
            f"see {k} differences of one sign (min p {2 / 2**k:.3g})"
        )
    if row.get("_direction", 0) and np.isfinite(row["p"]) and row["_direction"] != np.sign(row["diff"]):
        favoured = "arm" if row["_direction"] > 0 else "baseline"
        notes.append(
            f"the {name} favours the {favoured} (most of its weight is on that side) while the mean "
            f"difference is {row['diff']:+.4g}; the verdict follows the mean"
        )
    if row.get("interval_disagrees"):
        notes.append(_disagreement_note(row, name=name, interval=interval, confidence_level=confidence_level))
    if interval != "t" and n <= BOOTSTRAP_WARN_SEEDS:
        measured = [(m, c) for (method, m), c in BOOTSTRAP_COVERAGE.items() if method == interval and m >= n]
        figure = f" (measured coverage of a 95% interval: {measured[0][1]:.2f} at {measured[0][0]} seeds)" if measured else ""
        notes.append(f"bootstrap-{interval} intervals under-cover with {n} seeds{figure}; the t interval holds "
                     "its level (docs/statistics.md)")
    return notes


def _disagreement_note(row: dict[str, Any], *, name: str, interval: str, confidence_level: float) -> str:
    level, p = f"{100 * confidence_level:g}%", row["p"]
    rejects = p < 1 - confidence_level
    kind = "t" if interval == "t" else f"bootstrap-{interval}"
    text = (f"interval and test disagree: the {name} {'rejects' if rejects else 'does not reject'} at the "
            f"{100 * (1 - confidence_level):.3g}% level (raw p={p:.2g}) while the {level} {kind} interval of the mean "
            f"difference [{row['diff_low']:+.4g}, {row['diff_high']:+.4g}] {'covers' if rejects else 'excludes'} 0")
    if np.isfinite(row.get("hl_shift", np.nan)):
        bounds = (f" [{row['hl_low']:+.4g}, {row['hl_high']:+.4g}]" if np.isfinite(row["hl_low"])
                  else " (no interval at this level with these seeds)")
        text += (f"; the signed-rank test is about the centre of the differences: Hodges-Lehmann shift "
                 f"{row['hl_shift']:+.4g}{bounds} against a mean of {row['diff']:+.4g}")
    return text


__all__ = ["BOOTSTRAP_COVERAGE", "direction_word", "interval_disagrees", "verdict"]
