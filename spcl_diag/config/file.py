"""Run configurations as TOML files: ``spcl-diag run --config run.toml``.

A config file holds the top-level fields and one table per section; every key is optional
and takes the default when absent::

    dataset = "synthetic"
    backbone = "late_fusion"
    modalities = "tav"
    curriculum = "spcl"
    seed = 0
    plugins = []               # modules imported first (spcl_diag.plugins)

    [train]
    epochs = 20
    lr = 0.0002

    [pacing]
    lambda0 = 0.4

    [model]
    hidden_dim = 64

    [data.synthetic]
    n_dialogues = 120

Unknown keys are errors naming the file and listing the valid keys. On the command line,
flags and ``--section.key=value`` overrides win over the file. :func:`write_config_file`
writes a config back in this form (``None`` values, which TOML cannot hold, are left out:
they are the defaults), and reading that file gives the same run id.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from spcl_diag.config.schema import RunConfig
from spcl_diag.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

T = TypeVar("T")


def read_config_file(path: str | Path) -> RunConfig:
    """The :class:`~spcl_diag.config.schema.RunConfig` of a TOML config file.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ConfigError
        When it is not valid TOML or a key or value is invalid; the message names the file.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "run.toml")
    >>> _ = open(path, "w").write('curriculum = "spcl"\\n[train]\\nepochs = 3\\n')
    >>> config = read_config_file(path)
    >>> config.curriculum, config.train.epochs
    ('spcl', 3)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file.")
    return load_toml(path, "config", RunConfig.from_dict)


def load_toml(path: Path, kind: str, build: Callable[[dict[str, Any]], T]) -> T:
    """``build`` applied to the parsed TOML file ``path``; any error names the file.

    Shared by run config files and grid files (``kind`` says which, in the message).
    """
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not a valid TOML {kind} file: {err}") from None
    try:
        return build(values)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def config_to_toml(config: RunConfig) -> str:
    """``config`` as the text of a config file (top-level keys first, then one table per section).

    Examples
    --------
    >>> print(config_to_toml(RunConfig(curriculum="spcl")).splitlines()[3])
    curriculum = "spcl"
    """
    values = config.to_dict()
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in values.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif value is not None:
            lines.append(f"{_key(key)} = {_value(value)}")
    while tables:
        name, table = tables.pop(0)
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict) and v is not None}
        nested = [(f"{name}.{_key(k)}", v) for k, v in table.items() if isinstance(v, dict) and v]
        if scalars or not nested:
            lines += ["", f"[{name}]", *(f"{_key(k)} = {_value(v)}" for k, v in scalars.items())]
        tables = nested + tables
    return "\n".join(lines) + "\n"


def write_config_file(config: RunConfig, path: str | Path) -> Path:
    """Write ``config`` as a TOML config file that :func:`read_config_file` reads back."""
    path = Path(path)
    path.write_text(config_to_toml(config))
    return path


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    """A TOML value: strings as basic strings, floats with a point or exponent, lists, inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(ch in text for ch in ".en") else f"{text}.0"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None) + "}"
    raise ConfigError(f"cannot write {type(value).__name__} value {value!r} to a TOML config file.")
