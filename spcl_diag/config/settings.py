"""Typed dotted-key settings over nested frozen dataclasses: the parser every config reader shares.

A nested config is addressed by dotted keys (``train.lr``, ``data.synthetic.dims.a``); a value
given as text (the command line, a grid file) is parsed against its field's annotation
(:func:`parse_value`), a dict is built into the dataclasses field by field (:func:`build`),
and every problem names its key and what it accepts, in words ("an integer"). Unknown keys are
errors that suggest the closest keys (:mod:`spcl_diag.suggest`) and list the valid ones. Values
that carry their own type (a TOML file's) are checked, not parsed (:func:`setting_problem`). Nothing here knows which dataclasses make a run: :mod:`spcl_diag.config.schema`
declares them, and :mod:`spcl_diag.config.file` and :mod:`spcl_diag.batch.grid` read files
through the same functions.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import numbers
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal

from spcl_diag.errors import ConfigError
from spcl_diag.suggest import close_names, unknown_name


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


@functools.cache  # resolving string annotations is most of the time a grid of hundreds of runs takes to expand
def field_types(cls: type) -> dict[str, Any]:
    """Each field of dataclass ``cls`` and its resolved annotation (shared: do not modify it)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def assign(values: dict[str, Any], cls: type, path: list[str], raw: Any, key: str) -> None:
    """Set the field at ``path`` of the nested dict ``values`` (of dataclass ``cls``) to ``raw``, parsed by type."""
    types_ = field_types(cls)
    name = path[0]
    if name not in types_:
        raise ConfigError(_unknown_setting(cls, path, key) + ".")
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


def _unknown_setting(cls: type, path: list[str], key: str) -> str:
    """``unknown setting 'key'`` with the closest dotted keys and the valid keys of ``cls`` (the section at ``path``)."""
    prefix = key[: len(key) - len(".".join(path))]
    keys = setting_keys(cls)
    rest = "".join("." + part for part in path[1:])
    # the misspelled part first (``lrr`` -> ``lr``: the shared ``train.`` would make every key look close)
    close = [prefix + name + rest for name in close_names(path[0], field_types(cls)) if name + rest in keys]
    close = close or close_names(key, [prefix + k for k in keys]) or [  # then a key of a section (lr -> train.lr)
        prefix + k for k in keys if k.endswith("." + ".".join(path))]
    return unknown_name("setting", key, sorted(field_types(cls)), listed="valid keys here are", close=close[:3])


def setting_problem(cls: type, key: str, value: Any) -> str | None:
    """Why dotted ``key`` of dataclass ``cls`` cannot be set to the typed ``value``, or ``None``.

    For values that carry their own type (a TOML file's, Python's), unlike the text of the
    command line that :func:`parse_value` reads: a string where a number, a bool, a list or a
    table is expected is refused (``"train.epochs" = "3"``), as ``--epochs three`` is;
    ``"none"`` stays the way to write ``None``, which TOML cannot hold.

    Examples
    --------
    >>> from spcl_diag.config.schema import RunConfig
    >>> setting_problem(RunConfig, "train.epochs", "3")
    "train.epochs must be an integer; got the string '3' (write it without quotes)"
    >>> setting_problem(RunConfig, "train.epochs", 3), setting_problem(RunConfig, "pacing.lambda0", "none")
    (None, None)
    """
    annotation: Any = cls
    parts = key.split(".")
    for i, part in enumerate(parts):
        if typing.get_origin(annotation) is dict:
            return None  # free-form mapping (model overrides), checked by its backbone
        if not (isinstance(annotation, type) and dataclasses.is_dataclass(annotation)):
            return f"setting {key!r}: {parts[i - 1]!r} has no sub-settings"
        types_ = field_types(annotation)
        if part not in types_:
            return _unknown_setting(annotation, parts[i:], key)
        annotation = types_[part]
    if isinstance(value, Mapping) and dataclasses.is_dataclass(annotation):
        return None  # a whole section, checked field by field when the config is built
    if isinstance(value, str) and not _takes_text(annotation):
        optional = type(None) in typing.get_args(annotation)
        if optional and value.lower() in ("none", "null"):
            return None
        try:
            parse_value(value, annotation, key)
            hint = " (write it without quotes)"
        except ConfigError:
            hint = ""
        return f"{key} must be {type_name(annotation)}; got the string {value!r}{hint}"
    return type_problem(value, annotation, key)


def _takes_text(annotation: Any) -> bool:
    """Whether a string is a value of ``annotation`` (``str``, a ``Literal`` of strings, a union with one)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_takes_text(a) for a in typing.get_args(annotation))
    if origin is Literal:
        return any(isinstance(a, str) for a in typing.get_args(annotation))
    return annotation is str


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
        raise ConfigError(f"setting {key!r}: cannot read {raw!r} as {type_name(annotation)}.") from None


def type_name(annotation: Any) -> str:
    """What a field of type ``annotation`` holds, in words: ``"an integer"``, ``"a number or none"``.

    Examples
    --------
    >>> type_name(int), type_name(float | None), type_name(Literal["batch", "kept"])
    ('an integer', 'a number or none', "one of 'batch', 'kept'")
    """
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        inner = " or ".join(type_name(a) for a in args)
        return f"{inner} or none" if type(None) in typing.get_args(annotation) else inner
    if origin is Literal:
        return f"one of {', '.join(map(repr, typing.get_args(annotation)))}"
    if origin in (tuple, list):
        return "a list (e.g. [0.8, 0.1, 0.1])"
    if origin is dict or annotation is dict:
        return 'a table (e.g. {"t": 1.0, "a": 0.5})'
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return names.get(annotation, f"a value of type {getattr(annotation, '__name__', annotation)}")


def build(cls: type, values: dict[str, Any], prefix: str) -> Any:
    """Dataclass ``cls`` from a nested dict; every type problem is collected and raised as one ConfigError."""
    types_ = field_types(cls)
    unknown = sorted(set(values) - set(types_))
    if unknown:
        valid = [prefix + k for k in sorted(types_)]
        raise ConfigError(problem_text("invalid run config", [
            unknown_name("setting", prefix + k, valid, listed="valid keys are",
                         close=[prefix + name for name in close_names(k, types_)]) for k in unknown
        ]))
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


def split_problems(message: str) -> list[str]:
    """The problems of a :func:`problem_text` message (without its ``what``), or the message as one problem.

    Examples
    --------
    >>> split_problems(problem_text("invalid run config", ["a", "b"]))
    ['a', 'b']
    >>> split_problems("invalid run config: seed must be an integer >= 0; got -1.")
    ['seed must be an integer >= 0; got -1']
    """
    head, sep, rest = message.partition(":\n  - ")
    if sep and "\n" not in head:
        return rest.split("\n  - ")
    return [message.removeprefix("invalid run config: ").removesuffix(".")]


def setting_keys(cls: type, prefix: str = "") -> list[str]:
    """Every dotted key under dataclass ``cls``: each section and each field of it.

    Examples
    --------
    >>> from spcl_diag.config.schema import TrainConfig
    >>> setting_keys(TrainConfig)[:3]
    ['epochs', 'batch_size', 'eval_batch_size']
    """
    keys = []
    for name, annotation in field_types(cls).items():
        keys.append(prefix + name)
        if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
            keys += setting_keys(annotation, f"{prefix}{name}.")
    return keys


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
