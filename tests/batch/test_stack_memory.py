"""Memory before a stack (issue 28, item 6): a stack that would not fit is split, or its runs train solo."""

from __future__ import annotations

import warnings

import pytest
import torch

from spcl_diag import RunConfig, run
from spcl_diag.config.seeds import RunSeeds
from spcl_diag.data.registry import resolve_dataset
from spcl_diag.errors import ConfigError
from spcl_diag.runs.notice import LearnedNothingWarning
from spcl_diag.runs.stack import run_stack
from spcl_diag.train import memory

from .test_stacked_batch import ARMS, SMALL, assert_same_run

CPU = torch.device("cpu")


def base_config() -> RunConfig:
    return RunConfig(curriculum="spcl").with_overrides(SMALL).resolved()


def estimate(config: RunConfig) -> memory.StackMemory:
    data = resolve_dataset(config.dataset, config.data, modalities=config.modalities,
                           seed=RunSeeds.from_seed(config.seed).dev_split)
    return memory.estimate_stack_memory(config, data, CPU)


def test_the_estimate_grows_with_the_arms_and_leaves_the_random_state_alone():
    config = base_config()
    before = torch.get_rng_state()
    found = estimate(config)
    assert torch.equal(torch.get_rng_state(), before)
    assert found.per_arm > 0 and found.shared > 0
    assert found.peak(4) - found.peak(3) == found.per_arm
    assert found.arms_that_fit(found.peak(2)) == 2 and found.arms_that_fit(found.peak(3) - 1) == 2
    assert found.arms_that_fit(found.shared) == 0


@pytest.mark.parametrize(("arms_fitting", "stacks"), [(2, [["spcl", "none"], ["random", "anti"]]), (1, None)])
def test_a_stack_that_does_not_fit_is_split_and_its_runs_equal_their_solo_runs(tmp_path, monkeypatch, arms_fitting, stacks):
    config = base_config()
    found = estimate(config)
    monkeypatch.setenv(memory.LIMIT_VARIABLE, str(found.peak(arms_fitting) + found.per_arm // 2))
    with pytest.warns(UserWarning) as caught:
        results = run_stack([config.paired(a) for a in ARMS], tmp_path / "split", device="cpu")
    notices = [str(w.message) for w in caught if "needs about" in str(w.message)]
    plan = f"stacks of at most {arms_fitting} arms" if arms_fitting > 1 else "one at a time"
    assert len(notices) == 1 and plan in notices[0] and "\n" not in notices[0], notices
    assert all(r.status == "ok" for r in results)
    recorded = [r.result.get("stack", {}).get("arms") for r in results]
    if stacks is None:
        assert recorded == [None] * len(ARMS)
    else:
        assert sorted(map(tuple, filter(None, recorded))) == sorted(tuple(s) for s in stacks for _ in s)
    monkeypatch.delenv(memory.LIMIT_VARIABLE)
    for arm, result in zip(ARMS, results):
        solo = run(config.paired(arm), tmp_path / "solo", device="cpu")
        assert_same_run(result.path, solo.path)


def test_a_stack_that_fits_stays_whole(tmp_path, monkeypatch):
    monkeypatch.setenv(memory.LIMIT_VARIABLE, "64G")
    config = base_config()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no split warning: the stack fits
        warnings.simplefilter("ignore", LearnedNothingWarning)  # tiny runs learn nothing; not what is checked
        results = run_stack([config.paired(a) for a in ARMS], tmp_path, device="cpu")
    assert [r.result["stack"]["arms"] for r in results] == [list(ARMS)] * len(ARMS)


def test_the_limit_is_read_as_a_size(monkeypatch):
    assert memory.parse_bytes("1.5K") == 1536 and memory.parse_bytes("3GiB") == 3 * 2**30
    monkeypatch.setenv(memory.LIMIT_VARIABLE, "lots")
    with pytest.raises(ConfigError, match="SPCL_DIAG_MEMORY_LIMIT='lots' is not a size"):
        memory.free_memory(CPU)
    monkeypatch.delenv(memory.LIMIT_VARIABLE)
    assert memory.free_memory(CPU) > 0
