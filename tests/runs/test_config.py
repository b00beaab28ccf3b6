"""Run configuration: overrides, validation and the run id."""

from __future__ import annotations

import pytest

from spcl_diag import RunConfig
from spcl_diag.errors import ConfigError


def test_overrides_are_parsed_by_field_type():
    config = RunConfig().with_overrides(
        ["train.lr=3e-4", "train.epochs=7", "pacing.lambda0=none", "pacing.normalisation=kept", "model.hidden_dim=32",
         'data.synthetic.informativeness={"t": 1, "a": 0.2, "v": 0.1}']
    )
    assert config.train.lr == 3e-4 and config.train.epochs == 7
    assert config.pacing.lambda0 is None and config.pacing.normalisation == "kept"
    assert config.model == {"hidden_dim": 32}
    assert config.data.synthetic.informativeness == {"t": 1.0, "a": 0.2, "v": 0.1}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.lrr=1", r"unknown setting 'train.lrr'; did you mean 'train.lr'\? Valid keys here are batch_size"),
        ("train.epochs=many", "setting 'train.epochs': cannot read 'many' as an integer"),
        ("model.width=3", "unknown model setting.*hidden_dim"),
        ("curriculum=easy", "unknown curriculum 'easy'.*spcl"),
        ("modalities=tx", "unknown modality letter"),
        ("pacing.normalisation=mean", "normalisation must be"),
    ],
)
def test_bad_overrides_say_what_is_valid(override, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig().with_overrides([override])


def test_run_id_depends_on_the_experiment_not_on_where_the_data_lives():
    base = RunConfig(curriculum="spcl")
    assert base.run_id() == RunConfig(curriculum="spcl", modalities="vat").run_id()
    assert base.run_id() == base.with_overrides(["data.data_dir=/somewhere"]).run_id()
    assert base.run_id() == base.with_overrides(["pacing.lambda0=0.4"]).run_id()  # the preset, resolved
    assert base.run_id() != base.with_overrides(["seed=1"]).run_id()
    assert base.run_id() != base.paired("random").run_id()


def test_matmul_precision_is_checked_and_enters_the_run_id():
    base = RunConfig()
    assert base.train.matmul_precision == "highest"
    assert base.with_overrides(["train.matmul_precision=high"]).run_id() != base.run_id()
    with pytest.raises(ConfigError, match="matmul_precision must be one of 'highest', 'high'; got 'medium'"):
        base.with_overrides(["train.matmul_precision=medium"])
