"""The Markdown report and the figures / report commands."""

from __future__ import annotations

import os
import re
import sys

import pytest

from spcl_diag.batch import Grid, run_batch
from spcl_diag.report import write_report
from spcl_diag.stats.tables import markdown_table

TINY = {
    "train.epochs": 3,
    "train.batch_size": 4,
    "data.synthetic.n_dialogues": 12,
    "data.synthetic.min_length": 3,
    "data.synthetic.max_length": 6,
    "model.hidden_dim": 8,
    "model.feedforward_dim": 16,
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("report_runs")
    # lr = 1e30 makes the loss non-finite: those runs fail in training and are recorded
    grid = Grid(curriculum=("none", "spcl"), seed=(0, 1), overrides=TINY, variants=({}, {"train.lr": 1e30}))
    run_batch(grid, out, device="cpu", progress=False)
    return out


def test_report_is_self_contained(runs, tmp_path):
    report = write_report(runs, tmp_path / "out" / "report.md")
    text = report.read_text()
    for heading in ("## Comparisons with the baseline", "### Performance", "### Imbalance", "## Figures",
                    "## Run inventory", "## Grid and versions"):
        assert heading in text
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert "report_figures/accuracy_curves.png" in links and "report_figures/forest_performance.png" in links
    assert all((report.parent / link).is_file() for link in links)
    assert "| synthetic | late_fusion | tav | spcl |" in text.replace("| none |", "| spcl |")
    assert "NaN or infinite" in text and "Failed runs" in text  # the failed runs are listed
    assert '"curriculum": [' in text and "spcl_diag 0.1.0" in text  # the exact grid and the version
    assert "| p (holm) | d_z |" in text and "identical on all 2 seeds" in text
    assert "| none | 2 |" in text  # the baseline's own row (issue 25 item 9)
    assert "/" + runs.parts[1] not in text  # no absolute path of this machine (issue 30 item 4)
    assert f"Runs in `{os.path.relpath(runs, report.parent)}`" in text


def test_report_without_stats_falls_back_to_mean_and_sd(runs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "spcl_diag.stats", None)
    text = write_report(runs, tmp_path / "report.md").read_text()
    assert "spcl_diag.stats.compare is not available" in text
    assert "| metric | curriculum | n_seeds | mean | sd |" in text


def test_markdown_table_escapes_pipes_and_rounds():
    import pandas as pd

    text = markdown_table(pd.DataFrame({"verdict": ["a|b"], "p": [0.123456]}))
    assert text.splitlines()[2] == "| a\\|b | 0.123 |"


def test_figures_and_report_commands(runs, tmp_path, capsys):
    from spcl_diag.cli.main import main

    assert main(["figures", str(runs), "--out", str(tmp_path / "figs"), "--formats", "png,pdf"]) == 0
    assert (tmp_path / "figs" / "accuracy_curves.png").is_file() and (tmp_path / "figs" / "accuracy_curves.pdf").is_file()
    assert main(["report", str(runs), "--out", str(tmp_path / "r.md")]) == 0
    assert (tmp_path / "r.md").is_file() and "report written" in capsys.readouterr().out


def test_figures_command_draws_the_reports_figures(runs, tmp_path):
    """Issue 25 item 10: the forest plots of the standard comparisons too, the same set as the report."""
    from spcl_diag.cli.main import main

    assert main(["figures", str(runs), "--out", str(tmp_path / "figs"), "--formats", "png"]) == 0
    drawn = {p.name for p in (tmp_path / "figs").iterdir()}
    assert {"forest_performance.png", "forest_imbalance.png"} <= drawn
    report = write_report(runs, tmp_path / "r.md")
    assert drawn == {p.name for p in (tmp_path / "r_figures").iterdir()}
    assert all(f"r_figures/{name}" in report.read_text() for name in drawn)


def test_report_lists_the_note_of_a_row_whose_test_and_interval_disagree():
    import numpy as np
    import pandas as pd

    from spcl_diag.report import _comparison_section
    from spcl_diag.stats import compare

    base = 0.6 + np.random.default_rng(0).normal(0, 0.01, 12)
    frame = pd.DataFrame({"curriculum": ["none"] * 12 + ["spcl"] * 12, "seed": list(range(12)) * 2,
                          "test_wf1": np.concatenate([base, base + np.array([0.01] * 11 + [-0.08])])})
    text = "\n".join(_comparison_section({"performance": compare(frame, "test_wf1", by=(), rng=np.random.default_rng(0))},
                                         "none"))
    assert "interval and test disagree, see note). Note: interval and test disagree: the Wilcoxon test rejects" in text
    assert "Hodges-Lehmann shift +0.01 [+0.01, +0.01]" in text and "| spcl | 12 |" in text and "† §" in text


def test_the_versions_section_records_the_plugins_source_hashes(tmp_path):
    """Issue 30 item 1: which plugin code the runs ran, and a mix of versions named with the fix."""
    import pandas as pd

    from spcl_diag.report import _provenance_section
    from spcl_diag.runs.loading import RunTables

    results = pd.DataFrame({
        "dataset": "synthetic", "backbone": ["gru_ctx", "gru_ctx", "gru_ctx", "late_fusion"], "modalities": "tav",
        "curriculum": "none", "seed": [0, 1, 2, 0], "git_commit": "a" * 40, "package_version": "0.1.0",
        "plugin_sources": ["gru_ctx=00ff00ff00ff00ff", "gru_ctx=00ff00ff00ff00ff", "gru_ctx=11ee11ee11ee11ee", None],
    })
    lines = _provenance_section(RunTables(results, pd.DataFrame()), tmp_path)
    (plugins,) = [line for line in lines if line.startswith("- plugins:")]
    assert "`gru_ctx` source 00ff00ff00ff00ff (2 runs)" in plugins and "`gru_ctx` source 11ee11ee11ee11ee (1 run)" in plugins
    assert "more than one version" in plugins and "--by plugin_sources" in plugins
    no_plugins = _provenance_section(RunTables(results.assign(plugin_sources=None), pd.DataFrame()), tmp_path)
    assert not any(line.startswith("- plugins:") for line in no_plugins)
