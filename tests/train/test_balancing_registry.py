"""The registry of balancing methods: the table of docs/methods.md is the registry, and a researcher's method plugs in."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from spcl_diag import RunConfig
from spcl_diag.config.balancing import BUILTIN_REQUIREMENTS, METHOD_REQUIREMENTS, MethodRequirements
from spcl_diag.config.schema import BALANCING_METHODS, BalancingConfig
from spcl_diag.errors import ConfigError
from spcl_diag.train.balancing import (
    METHODS,
    Balancer,
    Default,
    MethodSpec,
    methods_table,
    register_balancing,
)
from spcl_diag.train.balancing.methods import BUILTIN_SPECS

METHODS_MD = Path(__file__).resolve().parents[2] / "docs" / "methods.md"
TABLE = re.compile(r"<!-- balancing-methods-table: [^>]*-->\n(?P<table>.*?)<!-- end balancing-methods-table -->", re.DOTALL)


def test_docs_methods_table_is_the_registry():
    match = TABLE.search(METHODS_MD.read_text(encoding="utf-8"))
    assert match, "docs/methods.md has no generated table of balancing methods"
    assert match.group("table") == methods_table(BUILTIN_SPECS)


def test_builtin_specs_are_the_config_choices_and_complete():
    assert tuple(spec.name for spec in BUILTIN_SPECS) == BALANCING_METHODS
    fields = {f.name for f in dataclasses.fields(BalancingConfig)}
    for spec in BUILTIN_SPECS:
        assert METHODS[spec.name] is spec
        assert set(spec.defaults) <= fields
        assert all(d.source for d in spec.defaults.values()), spec.name
        if spec.name != "none":
            assert spec.citation and spec.code and spec.logged and (spec.stacks or spec.solo_reason)


def test_a_spec_is_its_config_requirements_and_a_builder():
    spec_fields = {f.name: f for f in dataclasses.fields(MethodSpec)}
    for f in dataclasses.fields(MethodRequirements):  # same fields, same defaults
        assert f.name in spec_fields, f.name
        assert (spec_fields[f.name].default, spec_fields[f.name].default_factory) == (f.default, f.default_factory)
    assert [spec.requirements for spec in BUILTIN_SPECS] == list(BUILTIN_REQUIREMENTS)
    assert all(METHOD_REQUIREMENTS[name] == spec.requirements for name, spec in METHODS.items())


def test_every_field_is_read_by_some_method():
    read = {name for spec in BUILTIN_SPECS for name in spec.defaults}
    assert read == {f.name for f in dataclasses.fields(BalancingConfig)}


class _Nothing(Balancer):
    pass


@pytest.fixture
def registered():
    spec = MethodSpec("nothing-test", build=lambda ctx: _Nothing(), summary="nothing",
                      defaults={"weight": Default(2.0, "a test")}, min_modalities=1)
    register_balancing(spec)
    yield spec
    del METHODS["nothing-test"]


def test_a_registered_method_is_checked_like_the_builtins(registered):
    config = RunConfig(modalities="t", balancing="nothing-test").with_overrides({"balancing_config.weight": 0.5})
    assert config.balancing_config.weight == 0.5
    with pytest.raises(ConfigError, match="balancing_config.alpha is read by balancing .* only; got balancing 'nothing-test'"):
        RunConfig(balancing="nothing-test").with_overrides({"balancing_config.alpha": 0.5})


def test_a_deleted_method_leaves_the_config_checks(registered):
    assert METHOD_REQUIREMENTS["nothing-test"] == registered.requirements
    del METHODS["nothing-test"]
    assert "nothing-test" not in METHOD_REQUIREMENTS
    with pytest.raises(ConfigError, match="unknown balancing 'nothing-test'"):
        RunConfig(modalities="t", balancing="nothing-test")
    register_balancing(registered)  # (the fixture deletes it again)


def test_register_balancing_refuses_builtins_and_unknown_fields():
    with pytest.raises(ConfigError, match="'pmr' is a built-in balancing method"):
        register_balancing(MethodSpec("pmr", build=lambda ctx: Balancer(), summary="x"))
    with pytest.raises(ConfigError, match="fields balancing_config does not have: beta"):
        register_balancing(MethodSpec("x-test", build=lambda ctx: Balancer(), summary="x",
                                      defaults={"beta": Default(1, "nowhere")}))
    with pytest.raises(ConfigError, match="unknown balancing 'x-test'"):
        RunConfig(balancing="x-test")
