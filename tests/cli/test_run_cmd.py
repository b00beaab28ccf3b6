"""``spcl-diag run --config``: the file sets the fields, command-line flags win over it."""

from __future__ import annotations

import os
import sys

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


def test_an_unknown_balancing_suggests_the_nearest_name_and_a_plugin_method_is_accepted(tmp_path, monkeypatch,
                                                                                       capsys):
    from spcl_diag.train.balancing import METHODS

    assert main(["run", "--balancing", "ogmge", "--write-config", str(tmp_path / "c.toml")]) == 2
    err = capsys.readouterr().err
    assert "unknown balancing 'ogmge'; did you mean 'ogm-ge'?" in err and "invalid choice" not in err
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    monkeypatch.delitem(sys.modules, "balancing_plugin_xyz", raising=False)
    (tmp_path / "balancing_plugin_xyz.py").write_text(
        "from spcl_diag import register_balancing\n"
        "from spcl_diag.train.balancing import Balancer, MethodSpec\n"
        "register_balancing(MethodSpec('nothing-xyz', build=lambda ctx: Balancer(), summary='nothing',"
        " min_modalities=1))\n")
    try:
        out = tmp_path / "c.toml"
        assert main(["run", "--plugin", str(tmp_path / "balancing_plugin_xyz.py"), "--balancing", "nothing-xyz",
                     "--write-config", str(out)]) == 0
        assert read_config_file(out).balancing == "nothing-xyz"
    finally:
        METHODS.pop("nothing-xyz", None)
        sys.modules.pop("balancing_plugin_xyz", None)
