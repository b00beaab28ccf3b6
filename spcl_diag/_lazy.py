"""Names of a package imported on first use (PEP 562), so importing the package stays light.

A package face lists ``name -> module`` and hands its namespace to :func:`lazy_exports`::

    __getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any


def lazy_exports(
    namespace: MutableMapping[str, Any], exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of a package whose ``exports`` load on first use.

    The first access imports the module named for the name and keeps the value in
    ``namespace``, so later accesses are plain lookups.

    >>> space = {"__name__": "demo"}
    >>> getattr_, dir_ = lazy_exports(space, {"sqrt": "math"})
    >>> getattr_("sqrt")(9.0), "sqrt" in space, dir_()
    (3.0, True, ['__name__', 'sqrt'])
    >>> getattr_("cbrt")
    Traceback (most recent call last):
    AttributeError: module 'demo' has no attribute 'cbrt'
    """

    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
