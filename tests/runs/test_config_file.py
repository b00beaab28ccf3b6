"""TOML config files: read, write back, and the same run id after the round trip."""

from __future__ import annotations

import sys

import pytest

from spcl_diag import RunConfig, read_config_file, write_config_file
from spcl_diag.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_written_config_reads_back_to_the_same_run(tmp_path):
    config = RunConfig(modalities="ta", curriculum="spcl", balancing="ogm-ge", seed=7).with_overrides({
        "train.lr": 3e-4, "train.weight_decay": 1e-8, "pacing.cap": 30.0, "model.hidden_dim": 24,
        "balancing_config.alpha": 0.25, "data.synthetic.informativeness": {"t": 1.0, "a": 0.1, "v": 0.05},
        "data.synthetic.split_fractions": [0.6, 0.2, 0.2],
    }).resolved()
    path = write_config_file(config, tmp_path / "run.toml")
    values = tomllib.loads(path.read_text())  # plain TOML: the standard reader takes it
    assert values["train"]["lr"] == 3e-4  # every resolved field, the backbone's defaults too (issue 26)
    assert values["model"] == {"hidden_dim": 24, "feedforward_dim": 2048, "encoder_nlayers": 2, "drop_rate": 0.5}
    assert values["data"]["synthetic"]["informativeness"] == {"t": 1.0, "a": 0.1, "v": 0.05}
    assert "data_dir" not in values["data"]  # None is the default and TOML has no null
    again = read_config_file(path)
    assert again == config and again.run_id() == config.run_id()


def test_sections_and_top_level_keys_with_defaults_for_the_rest(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('curriculum = "spcl"\nseed = 3\n[train]\nepochs = 4\n[pacing]\nlambda0 = 0.3\n'
                    '[model]\nhidden_dim = 8\n[data.synthetic]\nn_dialogues = 20\n')
    config = read_config_file(path)
    assert (config.curriculum, config.seed, config.train.epochs, config.pacing.lambda0) == ("spcl", 3, 4, 0.3)
    assert config.model == {"hidden_dim": 8} and config.data.synthetic.n_dialogues == 20
    assert config.train.lr == RunConfig().train.lr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[train]\nlrr = 1\n", r"run\.toml: invalid run config: unknown setting 'train\.lrr'; did you mean 'train\.lr'\? Valid keys are train\.batch_size"),
        ("curriculum = 'fast'\n", r"run\.toml: invalid run config:\s+(- )?unknown curriculum 'fast'"),
        ("[train\n", r"run\.toml: not a valid TOML config file"),
    ],
)
def test_a_bad_file_is_named_in_the_error(tmp_path, text, message):
    (tmp_path / "run.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_config_file(tmp_path / "run.toml")
