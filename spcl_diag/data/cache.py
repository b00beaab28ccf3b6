"""The conversion cache: a pickle feature file is parsed once, then read back as an ``.npz``.

The cache entry of a source file is named after the SHA-256 of the file's *content* (and
the requested format and the cache layout version), so an edited or replaced file gets a
new entry and a stale one is never read. Entries are written under a temporary name and
renamed into place, and only after the source passed validation, so a failed load never
leaves a cache entry (whole or partial) behind. Reading an entry needs no pickle.

Where entries go, first match wins:

1. the folder in the ``SPCL_DIAG_CACHE`` environment variable;
2. ``.spcl_diag_cache/`` next to the source file, when that folder is writable;
3. ``~/.cache/spcl_diag``.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.data.loaders.bundle import bundle_origin, read_bundle, write_bundle
from spcl_diag.errors import DataFormatError

CACHE_VERSION = 1  # bump when the conversion of any format changes
CACHE_ENV = "SPCL_DIAG_CACHE"


_DIGESTS: dict[tuple[str, int, int, int], str] = {}  # (path, inode, size, mtime ns) -> digest


def content_hash(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_digest(path: str | Path) -> str:
    """:func:`content_hash`, remembered in this process while the file's inode, size and mtime stay.

    A batch asks for the digest of its data file once per run (it is part of the run id,
    :mod:`spcl_diag.config.identity`); the file is read once per process.
    """
    resolved = Path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = content_hash(resolved)
    return _DIGESTS[key]


def cache_dir(source: str | Path) -> Path:
    """The folder for cache entries of ``source`` (see the module docstring)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    beside = Path(source).resolve().parent
    if os.access(beside, os.W_OK):
        return beside / ".spcl_diag_cache"
    return Path.home() / ".cache" / "spcl_diag"


def cache_path(source: str | Path, format_key: str) -> Path:
    """The cache entry for ``source`` read as ``format_key`` (a format name or ``"auto"``)."""
    source = Path(source)
    digest = file_digest(source)[:20]
    return cache_dir(source) / f"{source.stem}.{format_key}.v{CACHE_VERSION}.{digest}.npz"


def cached(source: str | Path, format_key: str, build: Callable[[], ConversationDataset]) -> ConversationDataset:
    """Read ``source`` through the cache: the entry if present, else ``build()`` and store it.

    Parameters
    ----------
    source
        The feature file.
    format_key
        The requested format name, or ``"auto"`` for detection.
    build
        Parses and validates the source; it raises on any problem, and then nothing is
        written.
    """
    source = Path(source)
    entry = cache_path(source, format_key)
    if entry.is_file():
        try:
            origin = bundle_origin(entry) or "npz"
            dataset = read_bundle(entry, name=source.name)
            return replace(dataset, source_format=origin)
        except (DataFormatError, OSError, ValueError):
            pass  # an unreadable entry is rebuilt below and replaced atomically
    dataset = build()
    try:
        write_bundle(dataset, entry)
    except OSError as err:
        warnings.warn(f"could not write the cache entry {entry}: {err}; the file will be parsed again next time.",
                      RuntimeWarning, stacklevel=2)
    return dataset

