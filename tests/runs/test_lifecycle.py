"""The run lifecycle: one read/train/set-aside table, one plan per run, one twin rule, for run, run_stack and the batch."""

from __future__ import annotations

import json
import shutil

import pytest

from spcl_diag import RunConfig, run
from spcl_diag.batch.task import RunTask, recorded_outcome
from spcl_diag.config.identity import identity_payload, payload_run_id
from spcl_diag.runs import directory as rd
from spcl_diag.runs.lifecycle import Decision, decide, plan_run, twin_of, twins_needed
from spcl_diag.runs.stack import run_stack
from spcl_diag.train.callbacks import Callback

from ..conftest import TINY

# state, retry_failed -> (action, set aside as)
TABLE = {
    ("absent", False): ("train", None), ("absent", True): ("train", None),
    ("complete", False): ("read", None), ("complete", True): ("read", None),
    ("failed", False): ("read", None), ("failed", True): ("train", "failed"),
    ("stale", False): ("train", "stale"), ("stale", True): ("train", "stale"),
}


@pytest.mark.parametrize(("state", "retry"), sorted(TABLE))
def test_the_decision_table(state, retry):
    action, aside = TABLE[state, retry]
    assert decide(state, retry_failed=retry) == Decision(state, action, aside)


def test_the_plan_resolves_once_and_matches_the_config_run_id(tmp_path, tiny_config):
    plan = plan_run(tiny_config, tmp_path)
    assert plan.config == tiny_config.resolved()
    assert plan.payload == identity_payload(tiny_config.resolved())
    assert plan.run_id == payload_run_id(plan.payload) == tiny_config.run_id()
    assert plan.final == tmp_path / plan.run_id


def test_the_twin_rule():
    base = RunConfig()
    assert twin_of(base.paired("random")) == base.paired("spcl")
    assert twin_of(base.paired("anti")) == base.paired("spcl")
    assert twin_of(base.paired("none")) is None and twin_of(base.paired("spcl")) is None
    assert twins_needed([base.paired(a) for a in ("none", "spcl", "random")]) == []  # the stack holds its twin
    assert twins_needed([base.paired(a) for a in ("random", "anti")]) == [base.paired("spcl")]  # one twin for both
    assert twins_needed([base.paired("none")]) == []


def test_run_stack_and_the_batch_apply_the_decisions_run_applies(tmp_path, tiny_config):
    """complete -> read back, failed -> read back unless retried, stale (another config's folder) -> set aside."""
    done = run(tiny_config, tmp_path, device="cpu", progress=False)
    failed_config = tiny_config.with_overrides({"seed": 1})
    failed = plan_run(failed_config, tmp_path)
    shutil.copytree(done.path, failed.final)
    rd.write_json(failed.final / rd.CONFIG, {**rd.read_json(done.path / rd.CONFIG), "identity": failed.payload})
    rd.write_json(failed.final / rd.RESULT, {"run_id": failed.run_id, "status": "failed", "error": "boom"})
    (failed.final / rd.ERROR).write_text("boom\n")
    stale = plan_run(tiny_config.with_overrides({"seed": 2}), tmp_path)
    shutil.copytree(done.path, stale.final)  # a copied folder: its config.json names the seed-0 run

    for plan, state in ((plan_run(tiny_config, tmp_path), "complete"), (failed, "failed"), (stale, "stale")):
        assert plan.decide(retry_failed=False).state == state
    task = RunTask(failed_config.to_dict(), str(tmp_path))
    assert recorded_outcome(failed.run_id, failed.final, task, 0.0).message.startswith("failed earlier (boom)")
    assert recorded_outcome(done.run_id, done.path, task, 0.0).status == "skipped"
    assert recorded_outcome(stale.run_id, stale.final, task, 0.0) is None

    results = [run_stack([c], tmp_path, device="cpu", progress=False)[0] for c in (tiny_config, failed_config)]
    assert [r.status for r in results] == ["ok", "failed"] and results[1].error == "boom"
    with pytest.warns(UserWarning, match="set aside as .*stale-1"):
        assert run_stack([stale.config], tmp_path, device="cpu", progress=False)[0].status == "ok"
    retried = run_stack([failed_config], tmp_path, device="cpu", progress=False, retry_failed=True)[0]
    assert retried.status == "ok" and (tmp_path / f"{failed.run_id}.failed-1").is_dir()


class _Ends(Callback):
    def __init__(self) -> None:
        self.epochs = 0
        self.runs: list[str] = []

    def on_epoch_end(self, event) -> None:
        self.epochs += 1

    def on_run_end(self, result) -> None:
        self.runs.append(result["run_id"])


def test_run_stack_takes_runs_log_probe_and_callbacks(tmp_path, tiny_config):
    pytest.importorskip("tensorboard")
    configs = [tiny_config.paired(a) for a in ("none", "spcl")]
    ends = _Ends()
    results = run_stack(configs, tmp_path, device="cpu", progress=False, probe=True, log=["tensorboard"],
                        callbacks=[ends])
    assert [r.status for r in results] == ["ok", "ok"]
    for r in results:
        assert json.loads((r.path / rd.PROBE).read_text())  # probe.json, as run(probe=True) writes it
        assert any((r.path / "tensorboard").iterdir())  # each run its own event files
    assert sorted(ends.runs) == sorted(r.run_id for r in results)
    assert ends.epochs == 2 * tiny_config.train.epochs


def test_a_stacked_batch_forwards_probe_and_log(tmp_path):
    pytest.importorskip("tensorboard")
    from spcl_diag.batch import Grid, run_batch

    grid = Grid(curriculum=("none", "random"), seed=(0,), overrides=TINY)
    summary = run_batch(grid, tmp_path, device="cpu", progress=False, stack="arms", probe=True, log=["tensorboard"])
    assert summary.counts["failed"] == 0
    for outcome in summary.outcomes:
        assert (tmp_path / outcome.run_id / rd.PROBE).is_file()
        assert (tmp_path / outcome.run_id / "tensorboard").is_dir()
    assert len(summary.outcomes) == 2  # the spcl twin is trained first (under its lock), outside the grid's count
    twin = Grid(curriculum=("spcl",), seed=(0,), overrides=TINY).configs()[0].run_id()
    assert (tmp_path / twin / rd.PROBE).is_file()  # with the same keywords
