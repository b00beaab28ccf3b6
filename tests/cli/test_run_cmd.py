"""``spcl-diag run --config``: the file sets the fields, command-line flags win over it."""

from __future__ import annotations

from spcl_diag import read_config_file
from spcl_diag.cli.main import main


def test_flags_given_on_the_command_line_override_the_file(tmp_path, capsys):
    (tmp_path / "run.toml").write_text(
        'dataset = "iemocap-text"\ncurriculum = "spcl"\nseed = 4\n[train]\nepochs = 7\nlr = 0.001\n'
        '[pacing]\nlambda0 = 0.3\n')
    out = tmp_path / "resolved.toml"
    code = main(["run", "--config", str(tmp_path / "run.toml"), "--dataset", "synthetic", "--curriculum", "none",
                 "--train.lr=3e-4", "--write-config", str(out)])
    assert code == 0 and "wrote" in capsys.readouterr().out
    config = read_config_file(out)
    assert config.dataset == "synthetic"  # given explicitly (even though it is the default)
    assert config.curriculum == "none" and config.train.lr == 3e-4  # flags and overrides win
    assert config.seed == 4 and config.train.epochs == 7 and config.pacing.lambda0 == 0.3  # from the file
    assert config.pacing.growth == 1.25  # resolved: the preset is filled in


def test_missing_config_file_is_one_line(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope.toml: no such config file" in err
