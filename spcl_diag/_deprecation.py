"""Old spellings that keep working for one release: import paths (shims) and positional arguments.

A shim is a module left at an old path whose only definition is a module ``__getattr__``
(PEP 562) that calls :func:`moved`: the first access to each name imports it from its new
home and warns with a :class:`DeprecationWarning` that names the new path. Shims carry the
line ``# layer-shim`` so that ``tests/test_layers.py`` exempts them from the layer order.
:func:`keyword_only` lets a parameter that became keyword-only still be passed by position;
:func:`renamed_keyword` lets a renamed parameter still be passed by its old name.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def moved(old: str, name: str, new: Sequence[str]) -> Any:
    """``name`` from the first module of ``new`` that has it (a private ``_name`` lost its underscore).

    Raises AttributeError, as a module does, when none has it.
    """
    if not name.startswith("__"):
        for module_name in new:
            module = importlib.import_module(module_name)
            for candidate in (name, name.lstrip("_")):
                if hasattr(module, candidate):
                    warnings.warn(
                        f"{old}.{name} moved to {module_name}.{candidate}; the old path works until the next release.",
                        DeprecationWarning,
                        stacklevel=3,
                    )
                    return getattr(module, candidate)
    raise AttributeError(f"module {old!r} has no attribute {name!r}")


def keyword_only(*names: str) -> Callable[[F], F]:
    """Make ``names`` keyword-only, still accepting them by position for one release with a ``FutureWarning``.

    The decorated function declares them after ``*``; a call that passes them by position
    (in the old order, right after the positional parameters) is rewritten to keywords.
    ``inspect.signature`` shows the new, keyword-only signature.
    """

    def decorate(function: F) -> F:
        positional = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                         for p in inspect.signature(function).parameters.values())

        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            if len(args) > positional:
                extra = args[positional:]
                if len(extra) > len(names):
                    raise TypeError(f"{function.__name__}() takes {positional + len(names)} positional arguments "
                                    f"but {len(args)} were given")
                moved_names = names[:len(extra)]
                for name in moved_names:
                    if name in kwargs:
                        raise TypeError(f"{function.__name__}() got multiple values for argument {name!r}")
                warnings.warn(f"{function.__name__}(): pass {', '.join(moved_names)} by keyword "
                              f"({', '.join(f'{n}=...' for n in moved_names)}); by position it works until the next "
                              "release.", FutureWarning, stacklevel=2)
                kwargs.update(zip(moved_names, extra))
                args = args[:positional]
            return function(*args, **kwargs)

        return call  # type: ignore[return-value]

    return decorate


def renamed_keyword(**renames: str) -> Callable[[F], F]:
    """Accept each old keyword (``old="new"``) for one release with a ``DeprecationWarning``.

    ``inspect.signature`` shows the new names only; passing both the old and the new name
    is a ``TypeError``, as a repeated argument is.
    """

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{function.__name__}() got both {old!r} and its new name {new!r}; pass {new}= "
                                        "only")
                    warnings.warn(f"{function.__name__}(): {old}= is renamed {new}=; the old name works until the next "
                                  "release.", DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return call  # type: ignore[return-value]

    return decorate
