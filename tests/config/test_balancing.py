"""The balancing methods' requirements live in the config layer: a config naming a method is checked without torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from spcl_diag import RunConfig
from spcl_diag.config.balancing import (
    BUILTIN_REQUIREMENTS,
    METHOD_REQUIREMENTS,
    MethodRequirements,
    balancing_config_problems,
    register_requirements,
)
from spcl_diag.config.schema import BALANCING_METHODS, BalancingConfig
from spcl_diag.errors import ConfigError

CHECKS = """
import sys
from spcl_diag.config import RunConfig
from spcl_diag.errors import ConfigError
RunConfig(balancing="ogm-ge", modalities="ta").with_overrides({"balancing_config.alpha": 0.5})
RunConfig(balancing="pmr", backbone="late_fusion").resolved()  # needs pure heads, and late fusion has them
for kwargs, overrides in (({"balancing": "agm"}, {"balancing_config.mu": 0.1}),
                          ({"balancing": "ogm-ge", "modalities": "t"}, {}), ({"balancing": "nope"}, {}),
                          ({"balancing": "pmr", "backbone": "mmgcn"}, {})):
    try:
        RunConfig(**kwargs).with_overrides(overrides).resolved()
    except ConfigError as err:
        print(str(err).splitlines()[0][:80])
print("torch" in sys.modules)
"""


def test_config_checks_of_a_balancing_method_import_no_torch():
    done = subprocess.run([sys.executable, "-c", CHECKS], capture_output=True, text=True, check=True)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 5, done.stdout + done.stderr  # the four bad configs were refused
    assert "cannot train backbone 'mmgcn'" in lines[3], lines[3]  # mixed heads, said without importing the model
    assert lines[-1] == "False", "checking a balancing config imported torch"


def test_builtin_requirements_are_the_config_choices():
    assert tuple(r.name for r in BUILTIN_REQUIREMENTS) == BALANCING_METHODS
    assert all(METHOD_REQUIREMENTS[r.name] == r for r in BUILTIN_REQUIREMENTS)


def test_problems_name_the_field_and_the_readers():
    problems = balancing_config_problems("agm", BalancingConfig(gamma=-1.0), "late_fusion", "ta")
    assert problems == ["balancing_config.gamma is read by balancing mmpareto only; got balancing 'agm'",
                        "balancing_config.gamma must be a finite number > 0 or None; got -1.0"]
    assert balancing_config_problems("none", BalancingConfig(), "late_fusion", "t") == []


def test_builtin_requirements_cannot_be_replaced():
    with pytest.raises(ConfigError, match="'agm' is a built-in balancing method and cannot be replaced"):
        register_requirements(MethodRequirements("agm", summary="x"))
    with pytest.raises(ConfigError, match="unknown balancing 'agm-test'"):
        RunConfig(balancing="agm-test")
