"""Close matches for a misspelled name, for the "did you mean ...?" of an error message.

Every lookup of a name the user typed (a setting, a backbone, a balancing method, a metric
column, a grid key) says what it did not find, the nearest valid names when there are any
(:func:`difflib.get_close_matches`, Ratcliff/Obershelp similarity of at least 0.6) and the
valid names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


def close_names(name: str, choices: Iterable[str]) -> list[str]:
    """The up to three ``choices`` closest to ``name``, closest first (none below similarity 0.6).

    Examples
    --------
    >>> close_names("ogm_ge", ["none", "ogm-ge", "ada2i", "agm"])
    ['ogm-ge']
    >>> close_names("xyz", ["none", "ogm-ge"])
    []
    """
    return difflib.get_close_matches(str(name), list(dict.fromkeys(choices)), n=3, cutoff=0.6)


def did_you_mean(names: Sequence[str]) -> str:
    """``"did you mean 'x'?"`` or ``"did you mean 'x' or 'y'?"``; ``""`` for no names.

    Examples
    --------
    >>> did_you_mean(["train.epochs"]), did_you_mean([])
    ("did you mean 'train.epochs'?", '')
    """
    return f"did you mean {' or '.join(map(repr, names))}?" if names else ""


def unknown_name(what: str, name: str, valid: Sequence[str], *, listed: str,
                 close: Sequence[str] | None = None) -> str:
    """``unknown <what> 'name'; did you mean ...? <Listed> a, b, c``, without a closing period.

    ``close`` (default: :func:`close_names` among ``valid``) are the names suggested, e.g. full
    dotted keys of a config where ``valid`` lists the keys of one section.

    Examples
    --------
    >>> unknown_name("backbone", "mmgnc", ["late_fusion", "mmgcn"], listed="valid backbones are")
    "unknown backbone 'mmgnc'; did you mean 'mmgcn'? Valid backbones are late_fusion, mmgcn"
    >>> unknown_name("backbone", "gru", ["late_fusion", "mmgcn"], listed="valid backbones are")
    "unknown backbone 'gru'; valid backbones are late_fusion, mmgcn"
    """
    hint = did_you_mean(close_names(name, valid) if close is None else close)
    listing = f"{listed} {', '.join(valid)}"
    if hint:
        return f"unknown {what} {name!r}; {hint} {listing[:1].upper()}{listing[1:]}"
    return f"unknown {what} {name!r}; {listing}"
