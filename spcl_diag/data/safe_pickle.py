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
list, array), so a pickle nested deeper than :data:`MAX_NESTING` is refused. Its first
:data:`SCANNED_OPCODES` opcodes are read before loading (a file that opens that many
containers at once is refused without building anything), and the loaded object is
walked once, without recursion, before anything else touches it.
"""

from __future__ import annotations

import builtins
import codecs
import collections
import io
import itertools
import pickle
import pickletools
from pathlib import Path
from typing import Any

import numpy as np

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


MAX_NESTING = 32  # containers inside containers; the standard files need about five
SCANNED_OPCODES = 100_000  # opcodes read before loading, to refuse a deep nest without building it
_OPENERS = frozenset({"MARK", "EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET", "EMPTY_TUPLE", "FRAME"})
_CLOSERS = frozenset({"APPEND", "SETITEM", "APPENDS", "SETITEMS", "ADDITEMS", "TUPLE", "LIST", "DICT",
                      "FROZENSET", "POP_MARK", "TUPLE1", "TUPLE2", "TUPLE3"})


class UnsafePickleError(DataFormatError):
    """The pickle names a callable outside the plain-data allow list; nothing was run."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, *, name: str) -> None:
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
    >>> safe_unpickle(pickle.dumps(print))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    spcl_diag.data.safe_pickle.UnsafePickleError: <bytes>: not a plain feature file: the pickle asks for 'builtins.print', ...
    """
    if isinstance(source, bytes):
        label, raw = name or "<bytes>", source
    else:
        path = Path(source)
        label = name or path.name
        if not path.is_file():
            raise DataFormatError(f"{label}: file not found ({path}).")
        raw = path.read_bytes()
    if not raw:
        raise DataFormatError(f"{label}: the file is empty.")
    try:
        _check_opening_depth(raw, label)
        obj = _RestrictedUnpickler(io.BytesIO(raw), name=label).load()
        _check_nesting(obj, label)
        return obj
    except UnsafePickleError:
        raise
    except DataFormatError:
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


def _check_opening_depth(raw: bytes, label: str) -> None:
    """Refuse a pickle whose first opcodes open more than :data:`MAX_NESTING` containers at once.

    A rough bound: containers and marks opened minus those closed; data opcodes are ignored.
    """
    open_ = 0
    opcodes = itertools.islice(pickletools.genops(raw), SCANNED_OPCODES)
    while open_ <= 4 * MAX_NESTING:
        try:
            opcode = next(opcodes)[0]
        except (StopIteration, ValueError):  # the end, or a corrupt stream (the loader says so)
            return
        if opcode.name in _OPENERS:
            open_ += opcode.name != "FRAME"
        elif opcode.name in _CLOSERS:
            open_ = max(0, open_ - 1)
    raise _too_deep(label)


def _check_nesting(obj: object, label: str) -> None:
    """Walk the loaded containers iteratively; refuse nesting deeper than :data:`MAX_NESTING`."""
    stack: list[tuple[object, int]] = [(obj, 0)]
    seen: set[int] = set()
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, tuple, set, frozenset, dict)):
            if depth >= MAX_NESTING:
                raise _too_deep(label)
            if id(item) in seen:
                continue
            seen.add(id(item))
            children = itertools.chain(item.keys(), item.values()) if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (list, tuple, set, frozenset, dict)))
