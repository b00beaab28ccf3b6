"""Modality names and modality-set strings shared by every part of the package.

Modalities are the one-letter strings ``"t"`` (text), ``"a"`` (audio) and ``"v"``
(visual); a modality set is a string such as ``"tav"`` or ``"av"``. They are never
identified by position.
"""

from __future__ import annotations

MODALITIES: tuple[str, ...] = ("t", "a", "v")
MODALITY_NAMES: dict[str, str] = {"t": "text", "a": "audio", "v": "visual"}
MODALITY_SETS: tuple[str, ...] = ("tav", "ta", "tv", "av", "t", "a", "v")


def parse_modalities(modalities: str) -> str:
    """Validate a modality-set string and return it in canonical ``t, a, v`` order.

    Parameters
    ----------
    modalities
        Any non-empty combination of the letters ``t``, ``a``, ``v``, each at most once.

    Examples
    --------
    >>> parse_modalities("vat")
    'tav'
    >>> parse_modalities("av")
    'av'
    """
    if not isinstance(modalities, str) or not modalities:
        raise ValueError(f"modalities must be a non-empty string such as 'tav'; got {modalities!r}.")
    unknown = sorted(set(modalities) - set(MODALITIES))
    if unknown:
        raise ValueError(
            f"unknown modality letter(s) {', '.join(map(repr, unknown))} in {modalities!r}; "
            f"valid letters are {', '.join(MODALITIES)}."
        )
    if len(set(modalities)) != len(modalities):
        raise ValueError(f"modality letters must not repeat; got {modalities!r}.")
    return "".join(m for m in MODALITIES if m in modalities)
