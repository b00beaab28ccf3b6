"""reproduce, rank and per-class from the command line, and their report sections."""

from __future__ import annotations

import re

import pytest

from spcl_diag.batch import Grid, run_batch
from spcl_diag.cli.main import main
from spcl_diag.report import write_report
from spcl_diag.runs.loading import load_runs
from spcl_diag.stats.reproduction import reproduce

TINY = {"train.epochs": 2, "train.batch_size": 4, "data.synthetic.n_dialogues": 10, "data.synthetic.max_length": 6,
        "model.hidden_dim": 8, "model.feedforward_dim": 16}
PUBLISHED = """backbone,dataset,modalities,arm,metric,value,source
late_fusion,synthetic,tav,none,test_wf1,99.0,"A test table, not a paper"
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("diagnostics")
    run_batch(Grid(modalities=("tav", "ta"), curriculum=("none", "spcl"), seed=(0, 1), overrides=TINY), out / "runs",
              device="cpu", progress=False)
    (out / "published.csv").write_text(PUBLISHED)
    return out


def test_reproduce_command_prints_the_verdict(runs, capsys):
    assert main(["reproduce", str(runs / "runs"), "--published", str(runs / "published.csv"),
                 "--csv", str(runs / "repro.csv")]) == 0
    text = capsys.readouterr().out
    assert "late_fusion/synthetic/tav/none test_wf1: " in text and "published 99" in text and "not comparable to published numbers" in text
    assert (runs / "repro.csv").is_file()
    assert main(["reproduce", str(runs / "runs")]) == 0  # the shipped table covers no built-in benchmark
    assert "no run cell is covered" in capsys.readouterr().out


def test_rank_command_names_what_it_could_not_do(runs, capsys, tmp_path):
    assert main(["rank", str(runs / "runs"), "--figure", str(tmp_path / "cd.png")]) == 0
    text = capsys.readouterr().out
    assert "2 cells; mean ranks (1 = best)" in text and "needs at least 5 complete cells; got 2" in text
    assert re.search(r"two-sided exact Wilcoxon signed-rank: \w+ vs \w+: (cannot reach p<0.05 with 2 cells "
                     r"\(min p 0.5\)|no difference: identical on all 2 cells)", text)  # two arms: compare()'s words
    assert "not run: 2 cells (needs at least 5)" in text and "practically equivalent" not in text
    assert (tmp_path / "cd.png").is_file()


def test_per_class_command_writes_tables_and_figure(runs, capsys, tmp_path):
    results = load_runs(runs / "runs").results
    run_dir = results.query("curriculum == 'spcl' and modalities == 'tav' and seed == 0")["path"].iloc[0]
    assert main(["per-class", run_dir, "--csv", str(tmp_path / "pc"), "--figure", str(tmp_path / "pc.png")]) == 0
    assert "shapley_acc" in capsys.readouterr().out
    assert (tmp_path / "pc_contribution.csv").is_file() and (tmp_path / "pc_kept.csv").is_file()
    assert (tmp_path / "pc.png").is_file()


def test_report_has_reproduction_and_ranking_sections(runs, tmp_path):
    text = write_report(runs / "runs", tmp_path / "report.md", published=runs / "published.csv").read_text()
    assert "## Reproduction of published numbers" in text and "A test table, not a paper" in text
    assert "## Ranking across cells" in text and "needs at least 5 complete cells; got 2" in text
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert "report_figures/cd_diagram.png" in links and (tmp_path / "report_figures/cd_diagram.png").is_file()
    assert reproduce(runs / "runs").empty  # so the shipped table adds no reproduction section for synthetic runs
