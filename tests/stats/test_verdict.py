"""The verdict of a compare() row never contradicts the sign of its difference (issue 27, item 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from spcl_diag.stats import compare
from spcl_diag.stats.verdict import direction_word

differences = st.lists(st.floats(-0.2, 0.2, allow_nan=False).map(lambda d: round(d, 4)), min_size=2, max_size=12)


def _frame(diffs: list[float], metric: str) -> pd.DataFrame:
    base = 0.5 + 0.01 * np.arange(len(diffs))
    return pd.DataFrame({
        "dataset": "synthetic", "backbone": "late_fusion", "modalities": "tav", "status": "ok",
        "curriculum": ["none"] * len(diffs) + ["spcl"] * len(diffs), "seed": list(range(len(diffs))) * 2,
        metric: np.concatenate([base, base + np.asarray(diffs)]),
    })


@settings(max_examples=60, deadline=None)
@given(diffs=differences, test=st.sampled_from(["t", "wilcoxon", "permutation"]),
       metric=st.sampled_from(["test_wf1", "test_loss", "test_grad_norm_share_t"]))
def test_a_verdict_names_the_side_its_mean_difference_is_on(diffs, test, metric):
    row = compare(_frame(diffs, metric), metric, rng=np.random.default_rng(0), test=test).dropna(subset=["diff"]).iloc[0]
    words = str(row["verdict"]).split(" ")
    if words[0] in ("better", "worse", "higher", "lower"):
        assert row["diff"] != 0
        assert words[0] == direction_word(row["diff"], row["higher_is_better"] if row["higher_is_better"] in (True, False)
                                          else None), (row["verdict"], row["diff"])
        assert row["p_adjusted"] < 0.05
    if all(d == diffs[0] for d in diffs) and diffs[0] == 0:
        assert row["verdict"].startswith("no difference")
    assert not str(row["verdict"]).startswith(("better", "worse")) or row["min_p_adjusted"] <= 0.05


def test_direction_word_by_hand():
    assert direction_word(0.1, True) == "better" and direction_word(0.1, False) == "worse"
    assert direction_word(-0.1, None) == "lower" and direction_word(-0.1, False) == "better"
