"""Old import paths that keep working for one release: the lazy forwarding behind the shims.

A shim is a module left at an old path whose only definition is a module ``__getattr__``
(PEP 562) that calls :func:`moved`: the first access to each name imports it from its new
home and warns with a :class:`DeprecationWarning` that names the new path. Shims carry the
line ``# layer-shim`` so that ``tests/test_layers.py`` exempts them from the layer order.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence
from typing import Any


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
