"""Old import paths (before the configuration layer, issue 26) keep working for one release, and warn."""

from __future__ import annotations

import importlib

import pytest

MOVED = [
    ("spcl_diag.runs.config", "RunConfig", "spcl_diag.config.schema"),
    ("spcl_diag.runs.config", "DataConfig", "spcl_diag.data.config"),
    ("spcl_diag.runs.config", "dotted_keys", "spcl_diag.config.settings"),
    ("spcl_diag.runs.config_file", "read_config_file", "spcl_diag.config.file"),
    ("spcl_diag.runs.identity", "identity_payload", "spcl_diag.config.identity"),
    ("spcl_diag.train.seeding", "RunSeeds", "spcl_diag.config.seeds"),
    ("spcl_diag.evaluation.scoring", "evaluate_run", "spcl_diag.runs.scoring"),
    ("spcl_diag.evaluation", "probe_run", "spcl_diag.runs.scoring"),
    ("spcl_diag.config.schema", "balancing_problem", "spcl_diag.config.balancing"),
    ("spcl_diag.train.balancing.modulation", "OGM_GE_ALPHA", "spcl_diag.config.balancing"),
    ("spcl_diag.train.balancing.modulation", "ogm_ge_end_epoch", "spcl_diag.config.balancing"),
    ("spcl_diag.train.balancing.prototypes", "pmr_entropy_epochs", "spcl_diag.config.balancing"),
    ("spcl_diag.train.balancing.pareto", "MMPARETO_GAMMA", "spcl_diag.config.balancing"),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED)
def test_old_path_forwards_with_a_warning(old, name, new):
    with pytest.warns(DeprecationWarning, match=f"{old}.{name} moved to {new}"):
        value = getattr(importlib.import_module(old), name)
    assert value is getattr(importlib.import_module(new), name)


def test_a_private_name_loses_its_underscore():
    from spcl_diag.config.settings import problem_text

    with pytest.warns(DeprecationWarning):
        from spcl_diag.runs.config import _problem_text
    assert _problem_text is problem_text


def test_an_unknown_name_is_an_attribute_error():
    module = importlib.import_module("spcl_diag.runs.config")
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        module.nope  # noqa: B018
