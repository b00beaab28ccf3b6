"""The warning that a stack's runs train one at a time: one sentence, once per batch folder, no package source line."""

from __future__ import annotations

import warnings
from pathlib import Path

from spcl_diag import RunConfig, register_backbone
from spcl_diag.runs import stack as stack_module
from spcl_diag.runs.stack import run_stack

from ..batch.test_stacked_batch import ReadsValues, ReadsValuesConfig
from ..conftest import TINY


def stack_warnings(base: RunConfig, out: Path, seeds: int = 3) -> list[warnings.WarningMessage]:
    """What run_stack warns for the none and spcl arms of ``seeds`` seeds, all into ``out``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for seed in range(seeds):
            config = base.with_overrides({"seed": seed})
            assert run_stack([config.paired(a) for a in ("none", "spcl")], out, device="cpu") == ["solo", "solo"]
    return [w for w in caught if "one at a time" in str(w.message)]


def assert_one_sentence_from_here(caught: list[warnings.WarningMessage], start: str) -> None:
    assert len(caught) == 1, [str(w.message) for w in caught]  # not once per seed
    message = str(caught[0].message)
    assert message.startswith(start) and message.endswith(" train one at a time.")
    assert "\n" not in message and ".;" not in message and ".)" not in message and ". " not in message
    assert Path(caught[0].filename) == Path(__file__)  # the caller's line, not one of the package


def test_an_unstackable_backbone_is_said_once_in_one_sentence(tmp_path, monkeypatch, backbone_registry):
    monkeypatch.setattr(stack_module._Options, "solo", lambda self, config: "solo")  # what is said, not the solo training
    register_backbone("test_reads_values_once", ReadsValues, ReadsValuesConfig)
    base = RunConfig(backbone="test_reads_values_once").with_overrides(
        {k: v for k, v in TINY.items() if not k.startswith("model.")})
    caught = stack_warnings(base, tmp_path / "runs")
    assert_one_sentence_from_here(caught, "backbone ReadsValues cannot be stacked (torch.func.vmap over its "
                                          "parameters failed: vmap: It looks like you're calling .item()")
    assert len(stack_warnings(base, tmp_path / "other", seeds=1)) == 1  # another batch folder is told again
    assert not list((tmp_path / "runs").glob(".*tmp*"))


def test_an_unstackable_balancing_method_is_said_once_in_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(stack_module._Options, "solo", lambda self, config: "solo")
    caught = stack_warnings(RunConfig(modalities="ta", balancing="agm").with_overrides(TINY), tmp_path)
    assert_one_sentence_from_here(caught, "balancing agm trains solo: its 2^M masked forward passes")
    assert str(caught[0].message).endswith("at once, so these runs train one at a time.")
