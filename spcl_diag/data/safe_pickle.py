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
"""

from __future__ import annotations

import builtins
import codecs
import collections
import io
import pickle
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
        return _RestrictedUnpickler(io.BytesIO(raw), name=label).load()
    except UnsafePickleError:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError, KeyError,
            AttributeError, UnicodeDecodeError, MemoryError, OverflowError) as err:
        raise DataFormatError(
            f"{label}: truncated or corrupt pickle ({type(err).__name__}: {err})."
        ) from None
