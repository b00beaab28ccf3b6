"""The report's meta-analysis section (two or more cells) and sequential-seeds section (sequential.json)."""

from __future__ import annotations

from spcl_diag.batch import Grid
from spcl_diag.batch.sequential import run_until_decided
from spcl_diag.report import write_report
from spcl_diag.stats.meta_analysis import meta_analysis

TINY = {"train.epochs": 2, "train.batch_size": 4, "data.synthetic.n_dialogues": 12, "data.synthetic.max_length": 6,
        "model.hidden_dim": 8, "model.feedforward_dim": 16}


def test_report_has_the_meta_analysis_and_the_sequential_decisions(tmp_path):
    out = tmp_path / "runs"
    grid = Grid(modalities=("tav", "ta", "tv"), curriculum=("none", "spcl"), seed=(0, 1, 2), overrides=TINY)
    summary = run_until_decided(grid, out, max_seeds=3, device="cpu", progress=False)
    text = write_report(out).read_text()
    assert "## Does `spcl` help in general? Meta-analysis over cells" in text
    assert meta_analysis(out, "test_wf1").summary() in text
    assert "report_figures/meta_forest.png" in text and (out / "report_figures" / "meta_forest.png").is_file()
    assert "## Sequential seeds (`batch --until-decided`)" in text and "**not** valid" in text
    for c in summary.comparisons:
        assert f"| synthetic/late_fusion/{c['modalities']}/none | spcl | 3 | {c['decision']} |" in text
