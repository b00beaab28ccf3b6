"""Typed dotted-key settings over nested frozen dataclasses: the parser every config reader shares.

A nested config is addressed by dotted keys (``train.lr``, ``data.synthetic.dims.a``); a value
given as text (the command line, a grid file) is parsed against its field's annotation
(:func:`parse_value`), a dict is built into the dataclasses field by field (:func:`build`),
and every problem names its key and what it accepts. Unknown keys are errors that list the
valid ones. Nothing here knows which dataclasses make a run: :mod:`spcl_diag.config.schema`
declares them, and :mod:`spcl_diag.config.file` and :mod:`spcl_diag.batch.grid` read files
through the same functions.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal

from spcl_diag.errors import ConfigError


def dotted_keys(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config (``to_dict()``) as one level of dotted keys: ``train.lr``, ``data.synthetic.dims.a``.

    Examples
    --------
    >>> dotted_keys({"seed": 0, "train": {"lr": 0.001, "epochs": 2}})
    {'seed': 0, 'train.lr': 0.001, 'train.epochs': 2}
    """
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            out.update(dotted_keys(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def split_override(text: str) -> tuple[str, str]:
    """``"train.lr=3e-4"`` -> ``("train.lr", "3e-4")``; leading dashes of the key are dropped."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {text!r} must look like key=value (e.g. train.lr=3e-4).")
    return key.strip().lstrip("-"), value.strip()


def field_types(cls: type) -> dict[str, Any]:
    """Each field of dataclass ``cls`` and its resolved annotation."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def assign(values: dict[str, Any], cls: type, path: list[str], raw: Any, key: str) -> None:
    """Set the field at ``path`` of the nested dict ``values`` (of dataclass ``cls``) to ``raw``, parsed by type."""
    types_ = field_types(cls)
    name = path[0]
    if name not in types_:
        raise ConfigError(f"unknown setting {key!r}; valid keys here are {', '.join(sorted(types_))}.")
    annotation = types_[name]
    if len(path) == 1:
        values[name] = parse_value(raw, annotation, key)
    elif isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        assign(values[name], annotation, path[1:], raw, key)
    elif typing.get_origin(annotation) is dict:  # free-form mapping (model overrides)
        values[name] = dict(values[name])
        values[name][".".join(path[1:])] = parse_scalar(raw) if isinstance(raw, str) else raw
    else:
        raise ConfigError(f"setting {key!r}: {name!r} has no sub-settings.")


def parse_scalar(raw: str) -> Any:
    """A JSON value when ``raw`` is one, else the text itself."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def parse_value(raw: Any, annotation: Any, key: str) -> Any:
    """Parse ``raw`` (a CLI string or a Python value) against a field annotation."""
    if not isinstance(raw, str):
        return raw
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        if raw.lower() in ("none", "null"):
            return None
        return parse_value(raw, args[0], key)
    try:
        if annotation is bool:
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return raw.lower() in ("true", "1", "yes")
        if annotation in (int, float):
            return annotation(raw)
        if annotation is str or origin is Literal:
            return raw
        return json.loads(raw)  # dicts, tuples, nested values
    except (ValueError, json.JSONDecodeError):
        raise ConfigError(f"setting {key!r}: cannot read {raw!r} as {annotation}.") from None


def build(cls: type, values: dict[str, Any], prefix: str) -> Any:
    """Dataclass ``cls`` from a nested dict; every type problem is collected and raised as one ConfigError."""
    types_ = field_types(cls)
    unknown = sorted(set(values) - set(types_))
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(prefix + k for k in unknown)}; valid keys are "
            f"{', '.join(prefix + k for k in sorted(types_))}."
        )
    kwargs = {}
    problems = []
    for name, value in values.items():
        annotation = types_[name]
        if isinstance(annotation, type) and dataclasses.is_dataclass(annotation) and isinstance(value, dict):
            value = build(annotation, value, f"{prefix}{name}.")
        elif typing.get_origin(annotation) is tuple and isinstance(value, list):
            value = tuple(value)
        problem = type_problem(value, annotation, prefix + name)
        if problem:
            problems.append(problem)
        kwargs[name] = value
    if problems:
        raise ConfigError(problem_text("invalid run config", problems))
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"invalid settings for {prefix.rstrip('.') or 'run'}: {err}") from None


IF_CHANGED = "if-changed"  # field metadata ``identity=IF_CHANGED``: in the identity only when not its default


def strip_non_identity(obj: Any) -> Any:
    """A dataclass as nested dicts without the fields marked ``identity=False`` (tuples as lists).

    A field marked ``identity=IF_CHANGED`` enters only when its value differs from its default:
    a setting added later leaves the run ids of the runs that do not use it unchanged.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: strip_non_identity(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if f.metadata.get("identity", True) is True
            or (f.metadata.get("identity") == IF_CHANGED and getattr(obj, f.name) != f.default)
        }
    if isinstance(obj, dict):
        return {k: strip_non_identity(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return [strip_non_identity(v) for v in obj]
    return obj


def is_int(value: Any) -> bool:
    """An integer that is not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def in_range(value: Any, low: float, high: float = math.inf, *, strict: bool = False) -> bool:
    """A finite real number in ``(low, high)`` (``strict``) or ``[low, high)``."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        return False
    number = float(value)
    return (number > low if strict else number >= low) and number < high


def type_problem(value: Any, annotation: Any, key: str) -> str | None:
    """A sentence naming ``key`` and what it accepts when ``value`` does not fit ``annotation``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return type_problem(value, inner[0], key) if len(inner) == 1 else None
    if origin is Literal:
        return None if value in args else f"{key} must be one of {', '.join(map(repr, args))}; got {value!r}"
    if annotation is bool:
        return None if isinstance(value, bool) else f"{key} must be true or false; got {value!r}"
    if annotation is int:
        return None if is_int(value) else f"{key} must be an integer; got {value!r}"
    if annotation is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        return None if ok else f"{key} must be a number; got {value!r}"
    if annotation is str:
        return None if isinstance(value, str) else f"{key} must be a string; got {value!r}"
    return None


def problem_text(what: str, problems: list[str]) -> str:
    """One line for one problem, a list for several."""
    if len(problems) == 1:
        return f"{what}: {problems[0]}."
    return f"{what}:\n  - " + "\n  - ".join(problems)


def setting_type(cls: type, key: str) -> Any | None:
    """The annotation of the field at dotted ``key`` under dataclass ``cls``; None when there is none.

    Examples
    --------
    >>> from spcl_diag.config.schema import RunConfig
    >>> setting_type(RunConfig, "train.lr"), setting_type(RunConfig, "train.nope")
    (<class 'float'>, None)
    """
    annotation: Any = cls
    for part in key.split("."):
        if not (isinstance(annotation, type) and dataclasses.is_dataclass(annotation)):
            return None
        annotation = field_types(annotation).get(part)
        if annotation is None:
            return None
    return annotation
