"""Shared docstring text: recurring parameter descriptions written once and filled in.

A docstring names a shared description as ``%(name)s`` on its own line; the decorator made by
:func:`docfiller` replaces it, indented like the placeholder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

F = TypeVar("F", bound=Callable)


def docfiller(texts: Mapping[str, str]) -> Callable[[F], F]:
    """A decorator that fills ``%(name)s`` placeholders of a docstring from ``texts``.

    Examples
    --------
    >>> fill = docfiller({"x": "x\\n    The input."})
    >>> @fill
    ... def f(x):
    ...     '''Parameters
    ...     ----------
    ...     %(x)s
    ...     '''
    >>> print(f.__doc__.splitlines()[3].strip())
    The input.
    """

    def fill(func: F) -> F:
        if not func.__doc__:
            return func
        lines = []
        for line in func.__doc__.splitlines():
            indent = line[: len(line) - len(line.lstrip())]
            for name, text in texts.items():
                line = line.replace(f"%({name})s", text.replace("\n", "\n" + indent))
            lines.append(line)
        func.__doc__ = "\n".join(lines)
        return func

    return fill
