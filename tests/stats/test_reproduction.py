"""Reproduction verdicts against a published table the test writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from spcl_diag.stats.power import plan_seeds
from spcl_diag.stats.reproduction import load_published, reproduce

PUBLISHED = """backbone,dataset,modalities,arm,metric,value,source
mmgcn,MyIEMOCAP,tav,none,test_wf1,62.3,"Test paper A, Table 1"
mmgcn,MyIEMOCAP,tav,spcl,test_wf1,70.0,"Test paper B, Table 2"
biddin,MyIEMOCAP,ta,none,test_wf1,50.0,"Test paper A, Table 3"
"""


def _results() -> pd.DataFrame:
    rows = []
    for seed, (none, spcl) in enumerate([(0.615, 0.640), (0.625, 0.650), (0.610, 0.645), (0.630, 0.655), (0.620, 0.638)]):
        rows += [{"curriculum": "none", "seed": seed, "test_wf1": none, "status": "ok"},
                 {"curriculum": "spcl", "seed": seed, "test_wf1": spcl, "status": "ok"}]
    rows.append({"curriculum": "none", "seed": 9, "test_wf1": np.nan, "status": "failed"})
    frame = pd.DataFrame(rows).assign(dataset="/data/IEMOCAP_features.pkl", backbone="mmgcn", modalities="tav",
                                      balancing="none")
    other = frame.assign(backbone="late_fusion")  # no published row: not reported
    return pd.concat([frame, other], ignore_index=True)


@pytest.fixture
def published(tmp_path):
    path = tmp_path / "published.csv"
    path.write_text(PUBLISHED)
    return path


def test_verdicts_agree_with_scipy_and_the_seed_planner(published):
    table = reproduce(_results(), published, dataset_names={"/data/IEMOCAP_features.pkl": "MyIEMOCAP"}).set_index("arm")
    assert list(table.index) == ["none", "spcl"]  # biddin/ta and late_fusion have no partner
    none, spcl = table.loc["none"], table.loc["spcl"]
    ours = 100 * np.array([0.615, 0.625, 0.610, 0.630, 0.620])
    ci = sps.t.interval(0.95, len(ours) - 1, loc=ours.mean(), scale=sps.sem(ours))
    assert none["n_seeds"] == 5 and none["mean"] == pytest.approx(ours.mean())
    assert (none["ci_low"], none["ci_high"]) == pytest.approx(ci)
    ref = sps.ttest_1samp(ours, 62.3)
    assert none["t"] == pytest.approx(ref.statistic) and none["p"] == pytest.approx(ref.pvalue)
    assert bool(none["inside"]) and none["verdict"].startswith("consistent: published 62.3 inside")
    assert none["seeds_to_resolve"] == plan_seeds(ours, np.full(5, 62.3), test="t", correction="none").n_seeds
    assert "1 failed run(s) left out" in none["note"]
    assert not spcl["inside"] and spcl["verdict"].startswith("below the published 70 by")
    assert spcl["p"] == pytest.approx(sps.ttest_1samp(100 * np.array([0.640, 0.650, 0.645, 0.655, 0.638]), 70.0).pvalue)
    assert spcl["source"] == "Test paper B, Table 2"


def test_without_a_name_mapping_nothing_matches(published):
    assert reproduce(_results(), published).empty


def test_builtin_benchmarks_are_flagged_as_not_comparable(published):
    frame = _results().assign(dataset="iemocap-text")
    table = reproduce(frame, published, dataset_names={"iemocap-text": "MyIEMOCAP"})
    assert table["note"].str.contains("not comparable to published numbers").all()


def test_one_seed_gives_no_interval_and_no_verdict_of_difference(published):
    frame = _results()
    frame = frame[frame["seed"].isin([0, 9])]
    table = reproduce(frame, published, dataset_names={"/data/IEMOCAP_features.pkl": "MyIEMOCAP"})
    assert (table["verdict"] == "no interval (one seed)").all() and table["p"].isna().all()


def test_the_shipped_table_has_the_fagm_baselines_with_citations():
    table = load_published()
    iemocap = table[table["dataset"] == "IEMOCAP"].set_index("backbone")["value"].to_dict()
    meld = table[table["dataset"] == "MELD"].set_index("backbone")["value"].to_dict()
    assert iemocap == {"dialogue_gcn": 60.43, "biddin": 58.29, "mmgcn": 62.67, "mm_dfn": 61.84}
    assert meld == {"dialogue_gcn": 53.11, "biddin": 56.41, "mmgcn": 57.71, "mm_dfn": 57.52}
    assert table["source"].str.contains("FAGM").all() and (table["modalities"] == "tav").all()


def test_a_broken_table_names_row_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("backbone,dataset,modalities,arm,metric,value,source\nmmgcn,IEMOCAP,tav,none,test_wf1,0.6267,\n"
                    "mmgcn,IEMOCAP,tav,spcl,test_wf1,162,x\n")
    with pytest.raises(ValueError, match=r"row 2, column 'source'.*\n.*row 3, column 'value'"):
        load_published(path)


def test_mixed_tuning_and_evaluation_runs_are_refused(published):
    frame = _results().assign(seed_role=["tune", "eval"] * 11)
    with pytest.raises(ValueError, match="mix tuning and evaluation seeds"):
        reproduce(frame, published, dataset_names={"/data/IEMOCAP_features.pkl": "MyIEMOCAP"})
