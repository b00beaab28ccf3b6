"""Random streams per group, derived from the caller's generator and the group's key.

A statistic computed for many groups (a row of :func:`~spcl_diag.stats.comparison.compare`, a
task of a stratified bootstrap) draws from a stream of its own. Spawning the streams in
order (``rng.spawn(len(groups))``) ties a group's numbers to its position: adding a dataset
to the folder shifts every later group onto another stream, and two folders that share a
group give it different bootstrap intervals and ASO bounds. Here a group's stream depends
only on the generator's state and the group's key, so a group's numbers are the same
whichever other groups are present and in whatever order they come.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence

import numpy as np

from spcl_diag.stats._common import check_rng


def _key_words(key: Hashable) -> list[int]:
    """Eight 32-bit words of the SHA-256 of the key's text (``str`` of each part, tab-joined)."""
    parts = key if isinstance(key, tuple) else (key,)
    digest = hashlib.sha256("\t".join(map(str, parts)).encode()).digest()
    return np.frombuffer(digest, dtype="<u4").astype(int).tolist()


def keyed_streams(rng: np.random.Generator, keys: Sequence[Hashable]) -> list[np.random.Generator]:
    """One generator per key: ``SeedSequence(entropy = 4 words drawn from rng + the key's hash)``.

    ``rng`` is drawn from once (it advances by four 32-bit words), whatever the number of
    keys. Equal keys get equal streams; pass distinct keys.

    Examples
    --------
    >>> one = keyed_streams(np.random.default_rng(0), [("iemocap", "spcl")])[0].random()
    >>> two = keyed_streams(np.random.default_rng(0), [("meld", "spcl"), ("iemocap", "spcl")])[1].random()
    >>> one == two
    True
    """
    check_rng(rng)
    base = rng.integers(0, 2**32, size=4, dtype=np.uint64).astype(int).tolist()
    return [np.random.default_rng(np.random.SeedSequence([*base, *_key_words(key)])) for key in keys]


__all__ = ["keyed_streams"]
