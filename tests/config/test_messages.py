"""The messages of a wrong setting: the closest valid names, types in words, typed values refused."""

from __future__ import annotations

from typing import Literal

import pytest

from spcl_diag.config.file import read_config_file
from spcl_diag.config.schema import RunConfig
from spcl_diag.config.settings import setting_problem, type_name
from spcl_diag.errors import ConfigError
from spcl_diag.models import BACKBONES

TOP_KEYS = "backbone, balancing, balancing_config, curriculum, data, dataset, modalities, model, pacing, plugins, seed, seed_role, train"
TRAIN_KEYS = ("batch_size, checkpoint, class_weights, clip_norm, epochs, eval_batch_size, grad_accumulation, lr, "
              "matmul_precision, optimizer, patience, scheduler, weight_decay")


def message(overrides) -> str:
    with pytest.raises(ConfigError) as err:
        RunConfig().with_overrides(overrides)
    return str(err.value)


@pytest.mark.parametrize(("override", "expected"), [
    ("trian.epochs=2", f"unknown setting 'trian.epochs'; did you mean 'train.epochs'? Valid keys here are {TOP_KEYS}."),
    ("train.lrr=1", f"unknown setting 'train.lrr'; did you mean 'train.lr'? Valid keys here are {TRAIN_KEYS}."),
    ("lr=1", f"unknown setting 'lr'; did you mean 'train.lr'? Valid keys here are {TOP_KEYS}."),
    ("zzz=1", f"unknown setting 'zzz'; valid keys here are {TOP_KEYS}."),
])
def test_an_unknown_setting_suggests_the_closest_keys(override, expected):
    assert message([override]) == expected


@pytest.mark.parametrize(("override", "expected"), [
    ("train.epochs=2.5", "setting 'train.epochs': cannot read '2.5' as an integer."),
    ("train.lr=fast", "setting 'train.lr': cannot read 'fast' as a number."),
    ("train.checkpoint=maybe", "setting 'train.checkpoint': cannot read 'maybe' as true or false."),
    ("pacing.lambda0=low", "setting 'pacing.lambda0': cannot read 'low' as a number."),
])
def test_text_that_is_not_of_the_field_type_says_the_type_in_words(override, expected):
    assert message([override]) == expected


@pytest.mark.parametrize(("annotation", "words"), [
    (int, "an integer"), (float, "a number"), (bool, "true or false"), (str, "a string"),
    (float | None, "a number or none"), (Literal["batch", "kept"], "one of 'batch', 'kept'"),
    (tuple[float, ...], "a list (e.g. [0.8, 0.1, 0.1])"), (dict[str, float], 'a table (e.g. {"t": 1.0, "a": 0.5})'),
])
def test_type_names_are_words(annotation, words):
    assert type_name(annotation) == words


def test_command_line_text_still_parses_while_a_typed_string_is_refused():
    config = RunConfig().with_overrides(["train.epochs=3", "pacing.lambda0=none", "train.checkpoint=false"])
    assert (config.train.epochs, config.pacing.lambda0, config.train.checkpoint) == (3, None, False)
    assert setting_problem(RunConfig, "train.epochs", "3") == (
        "train.epochs must be an integer; got the string '3' (write it without quotes)")
    assert setting_problem(RunConfig, "train.lr", "fast") == "train.lr must be a number; got the string 'fast'"
    assert setting_problem(RunConfig, "train.checkpoint", "yes") == (
        "train.checkpoint must be true or false; got the string 'yes' (write it without quotes)")
    assert setting_problem(RunConfig, "train.epochs", 2.5) == "train.epochs must be an integer; got 2.5"
    for key, value in [("train.epochs", 3), ("pacing.lambda0", "none"), ("pacing.normalisation", "kept"),
                       ("model.hidden_dim", 8), ("data.synthetic.split_fractions", [0.8, 0.1, 0.1])]:
        assert setting_problem(RunConfig, key, value) is None, key
    assert setting_problem(RunConfig, "train.epochs.x", 1) == "setting 'train.epochs.x': 'epochs' has no sub-settings"


def test_a_config_file_refuses_a_string_number_and_suggests_keys(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[train]\nepochs = "3"\n')
    with pytest.raises(ConfigError) as err:
        read_config_file(path)
    assert str(err.value) == f"{path}: invalid run config: train.epochs must be an integer; got '3'."
    path.write_text("[train]\nepocs = 3\n")
    with pytest.raises(ConfigError) as err:
        read_config_file(path)
    valid = ", ".join(f"train.{k}" for k in TRAIN_KEYS.split(", "))
    assert str(err.value) == (f"{path}: invalid run config: unknown setting 'train.epocs'; did you mean "
                              f"'train.epochs'? Valid keys are {valid}.")


def test_an_unknown_backbone_suggests_a_close_name_and_the_plugin_flag():
    names = ", ".join(BACKBONES)
    plugin = '; if a plugin registers it, load the plugin with --plugin FILE (or plugins = ["FILE"] in a config or grid file).'
    assert message(["backbone=mmgnc"]) == (
        f"invalid run config: unknown backbone 'mmgnc'; did you mean 'mmgcn'? Valid backbones are {names}{plugin}")
    assert message(["backbone=gru_ctx"]) == (
        f"invalid run config: unknown backbone 'gru_ctx'; valid backbones are {names}{plugin}")


def test_an_unknown_arm_or_balancing_method_suggests_the_closest():
    assert message(["curriculum=spcll"]).startswith(
        "invalid run config: unknown curriculum 'spcll'; did you mean 'spcl'? Valid arms are none, spcl,")
    assert message(["balancing=ogm_ge"]).startswith(
        "invalid run config: unknown balancing 'ogm_ge'; did you mean 'ogm-ge'? Valid methods are none, ogm-ge,")


def test_an_unknown_model_setting_suggests_the_closest_field():
    assert message(["model.hidden_dm=3"]) == (
        "invalid run config: unknown model setting(s) hidden_dm for backbone 'late_fusion' (did you mean "
        "'model.hidden_dim'?); valid settings are drop_rate, encoder_nlayers, feedforward_dim, hidden_dim.")
