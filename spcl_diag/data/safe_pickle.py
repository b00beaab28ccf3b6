"""A restricted unpickler for the standard MERC feature files.

Unpickling a file runs whatever callables the file names, so an untrusted ``.pkl`` can
execute code. The feature files of MMGCN, DialogueGCN, COSMIC and SPCL/Ada2I only need
builtin containers, numbers, strings and numpy arrays, dtypes and scalars.
:func:`safe_unpickle` resolves exactly those names and refuses every other one with an
:class:`UnsafePickleError` *before* anything is called, so nothing in a refused file runs.

Admitted globals (module, name), under both their Python 2 and Python 3 spellings:

* ``builtins``: ``dict``, ``list``, ``tuple``, ``set``, ``frozenset``, ``int``, ``float``,
  ``complex``, ``bool``, ``str``, ``bytes``, ``bytearray``;
* ``collections``: ``OrderedDict``, ``defaultdict``;
* ``_codecs.encode`` (protocol 2 stores ``bytes`` as ``encode(text, "latin1")``);
* ``numpy.ndarray``, ``numpy.dtype``, and ``_reconstruct`` / ``scalar`` of
  ``numpy.core.multiarray`` (numpy < 2) or ``numpy._core.multiarray`` (numpy >= 2), and
  ``_frombuffer`` of ``numpy.core.numeric`` / ``numpy._core.numeric`` (protocol 5).

Python 2 pickles keep their ``str`` objects as bytes; they are decoded as latin1, as the
reference code does (``pickle.load(f, encoding="latin1")``).

Nesting is bounded: the feature files nest containers four or five deep (tuple, dict,
list, array), so a pickle nested deeper than :data:`MAX_NESTING` is refused. Before
loading, :func:`nesting_depth` simulates the unpickler's stack over the opcodes and stops
as soon as the depth passes the bound, so a deep nest is refused without building
anything; the loaded object is walked once more, without recursion, before anything else
touches it (a hand-made stream can hide depth from the scan through the memo).
"""

from __future__ import annotations

import builtins
import codecs
import collections
import io
import itertools
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import numpy as np

from spcl_diag.data.pickle_scan import nesting_depth, without_unused_memo
from spcl_diag.errors import DataFormatError

try:  # numpy >= 2 moved the private modules to numpy._core
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # pragma: no cover - numpy < 2
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]
    from numpy.core import numeric as _numeric  # type: ignore[no-redef]

_BUILTINS = ("dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "bool",
             "str", "bytes", "bytearray")

_ALLOWED: dict[tuple[str, str], Any] = {}
for _module in ("builtins", "__builtin__"):
    _ALLOWED.update({(_module, name): getattr(builtins, name) for name in _BUILTINS})
_ALLOWED[("__builtin__", "unicode")] = str
_ALLOWED[("__builtin__", "long")] = int
_ALLOWED[("collections", "OrderedDict")] = collections.OrderedDict
_ALLOWED[("collections", "defaultdict")] = collections.defaultdict
_ALLOWED[("_codecs", "encode")] = codecs.encode
_ALLOWED[("numpy", "ndarray")] = np.ndarray
_ALLOWED[("numpy", "dtype")] = np.dtype
for _package in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_package}.multiarray", "_reconstruct")] = _multiarray._reconstruct
    _ALLOWED[(f"{_package}.multiarray", "scalar")] = _multiarray.scalar
    _ALLOWED[(f"{_package}.numeric", "_frombuffer")] = _numeric._frombuffer  # type: ignore[attr-defined]


MAX_NESTING = 32  # containers inside containers; the standard files nest about five deep


class UnsafePickleError(DataFormatError):
    """The pickle names a callable outside the plain-data allow list; nothing was run."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], *, name: str) -> None:
        super().__init__(file, encoding="latin1")
        self._name = name

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self._name}: not a plain feature file: the pickle asks for '{module}.{name}', "
                "which is not a builtin container, number, string or numpy array/dtype. Loading "
                "was refused and nothing in the file was run."
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(
            f"{self._name}: not a plain feature file: it uses persistent ids. Loading was refused "
            "and nothing in the file was run."
        )


def safe_unpickle(source: str | Path | bytes, *, name: str | None = None) -> Any:
    """Unpickle plain data (containers, numbers, strings, numpy arrays) and nothing else.

    Parameters
    ----------
    source
        A file path, or the pickled bytes.
    name
        How to call the source in messages (default: the file name, or ``"<bytes>"``).

    Returns
    -------
    object
        The unpickled object.

    Raises
    ------
    UnsafePickleError
        The pickle names any other callable (``os.system``, a class with ``__reduce__``,
        ...). It is refused before anything is called.
    DataFormatError
        The file is missing, empty, truncated or not a pickle.

    Examples
    --------
    >>> import pickle, numpy as np
    >>> safe_unpickle(pickle.dumps({"x": np.arange(3.0)}, protocol=2))["x"].tolist()
    [0.0, 1.0, 2.0]
    >>> import os
    >>> safe_unpickle(pickle.dumps(os.system))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    spcl_diag.data.safe_pickle.UnsafePickleError: <bytes>: not a plain feature file: the pickle asks for '...system', ...
    """
    path: Path | None = None
    if isinstance(source, bytes):
        label = name or "<bytes>"
    else:
        path = Path(source)
        label = name or path.name
        if not path.is_file():
            raise DataFormatError(f"{label}: file not found ({path}).")
    try:
        # Scan an in-memory copy (fast to seek in), drop it, then load from the file: the
        # file's bytes and the objects built from them are never in memory at once.
        raw: bytes = path.read_bytes() if path is not None else source  # type: ignore[assignment]
        if not raw:
            raise DataFormatError(f"{label}: the file is empty.")
        scan = nesting_depth(raw, limit=MAX_NESTING)
        if scan.depth > MAX_NESTING or scan.piled_up:
            raise _too_deep(label)
        del raw
        with open(path, "rb") if path is not None else io.BytesIO(source) as handle:  # type: ignore[arg-type]
            obj = _RestrictedUnpickler(without_unused_memo(handle, scan), name=label).load()
        _check_nesting(obj, label)
        return obj
    except DataFormatError:  # UnsafePickleError included
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError, KeyError,
            AttributeError, UnicodeDecodeError, MemoryError, OverflowError, RecursionError) as err:
        raise DataFormatError(
            f"{label}: truncated or corrupt pickle ({type(err).__name__}: {err})."
        ) from None


def _too_deep(label: str) -> DataFormatError:
    return DataFormatError(
        f"{label}: not a plain feature file: containers are nested more than {MAX_NESTING} deep (feature "
        "files nest about five); loading was refused."
    )


def _check_nesting(obj: object, label: str) -> None:
    """Walk the loaded object iteratively; refuse nesting deeper than :data:`MAX_NESTING`.

    Depth is counted as :func:`nesting_depth` counts it: each container and each numpy
    array is one level (an object array's elements are walked too).
    """
    stack: list[tuple[object, int]] = [(obj, 1)] if isinstance(obj, _CONTAINERS) else []
    seen: set[int] = set()
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            raise _too_deep(label)
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            children: Iterable[object] = itertools.chain(item.keys(), item.values())
        elif isinstance(item, np.ndarray):
            children = item.ravel() if item.dtype == object else ()
        else:
            children = item  # type: ignore[assignment]
        stack.extend((child, depth + 1) for child in children if isinstance(child, _CONTAINERS))


_CONTAINERS = (list, tuple, set, frozenset, dict, np.ndarray)
