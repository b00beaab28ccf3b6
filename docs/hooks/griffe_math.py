"""Griffe extension of the documentation site: the docstrings' reST math, rendered by MathJax.

The package's docstrings write formulas as numpydoc does, ``.. math:: ...`` blocks and
``:math:`...``` roles (STYLE.md). mkdocstrings passes them through as text; this extension
turns them into the ``$$...$$`` and ``$...$`` that pymdownx.arithmatex hands to MathJax.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from griffe import Extension

ROLE = re.compile(r":math:`([^`]+)`")
XREF = re.compile(r":(?:func|class|data|mod|meth|attr|obj|exc):`~?([^`]+)`")  # Sphinx roles, shown as code


def rest_math_to_tex(text: str) -> str:
    """``text`` with ``.. math::`` blocks as ``$$ ... $$`` and ``:math:`x``` roles as ``$x$``."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        if not stripped.startswith(".. math::"):
            out.append(XREF.sub(r"`\1`", ROLE.sub(r"$\1$", lines[i])))
            i += 1
            continue
        indent = len(lines[i]) - len(stripped)
        body = [stripped[len(".. math::"):].strip()]
        i += 1
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i].strip())
            i += 1
        formula = " ".join(part for part in body if part)
        out += ["", " " * indent + "$$", " " * indent + formula, " " * indent + "$$", ""]
    return "\n".join(out)


class ReSTMath(Extension):
    """Rewrite every docstring's reST math for arithmatex; drop the type docstrings inspection gives constants."""

    def on_instance(self, *, obj: Any, node: Any = None, **kwargs: Any) -> None:
        if obj.docstring is None:
            return
        value = getattr(node, "obj", None)  # the runtime object (dynamic analysis)
        if obj.is_attribute and value is not None and obj.docstring.value.strip() == (inspect.getdoc(type(value)) or ""):
            obj.docstring = None  # a constant's "docstring" found by inspection is its type's (str, int, ...)
            return
        obj.docstring.value = rest_math_to_tex(obj.docstring.value)
