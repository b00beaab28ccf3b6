"""Close matches for a misspelled name, for the "did you mean ...?" of an error message.

Every lookup of a name the user typed (a setting, a backbone, a balancing method, a metric
column, a grid key) says what it did not find, the nearest valid names when there are any
(:func:`difflib.get_close_matches`, Ratcliff/Obershelp similarity of at least 0.6) and the
valid names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` (or ``'x' or 'y'``) for the up to three closest ``choices``; ``""`` for none.

    Examples
    --------
    >>> did_you_mean("trian.epochs", ["train.epochs", "train.lr", "seed"])
    "did you mean 'train.epochs'?"
    >>> did_you_mean("zzz", ["train.epochs"])
    ''
    """
    matches = difflib.get_close_matches(str(name), list(dict.fromkeys(choices)), n=3, cutoff=0.6)
    return f"did you mean {' or '.join(map(repr, matches))}?" if matches else ""


def unknown_name(what: str, name: str, valid: Sequence[str], *, listed: str,
                 candidates: Iterable[str] | None = None) -> str:
    """``unknown <what> 'name'; did you mean ...? <Listed> a, b, c``, without a closing period.

    ``candidates`` (default ``valid``) are the names the suggestion is drawn from, e.g. every
    dotted key of a config where ``valid`` lists the keys of one section.

    Examples
    --------
    >>> unknown_name("backbone", "mmgnc", ["late_fusion", "mmgcn"], listed="valid backbones are")
    "unknown backbone 'mmgnc'; did you mean 'mmgcn'? Valid backbones are late_fusion, mmgcn"
    >>> unknown_name("backbone", "gru", ["late_fusion", "mmgcn"], listed="valid backbones are")
    "unknown backbone 'gru'; valid backbones are late_fusion, mmgcn"
    """
    hint = did_you_mean(name, valid if candidates is None else candidates)
    listing = f"{listed} {', '.join(valid)}"
    if hint:
        return f"unknown {what} {name!r}; {hint} {listing[:1].upper()}{listing[1:]}"
    return f"unknown {what} {name!r}; {listing}"
