"""The nesting bound measures depth: every structure up to MAX_NESTING loads, every deeper one is refused.

Depth counts containers (list, tuple, dict, set, frozenset) and numeric numpy arrays, one
level each: ``{0: ["M", "F"]}`` is 2, a bare number or string 0.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from spcl_diag.data.pickle_scan import nesting_depth
from spcl_diag.data.safe_pickle import MAX_NESTING, safe_unpickle
from spcl_diag.data.standard_files import _dump_python2
from spcl_diag.errors import DataFormatError

PROTOCOLS = (0, 2, 4, 5)


def real_depth(obj: Any) -> int:
    """Reference: the nesting of ``obj`` by recursion (containers and arrays are one level each)."""
    if isinstance(obj, np.ndarray):
        return 1
    if isinstance(obj, dict):
        return 1 + max((real_depth(x) for kv in obj.items() for x in kv), default=0)
    if isinstance(obj, (list, tuple, set, frozenset)):
        return 1 + max((real_depth(x) for x in obj), default=0)
    return 0


def same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


hashable = st.recursive(st.integers(-5, 300) | st.text(max_size=3),
                        lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3), max_leaves=6)
arrays = st.builds(lambda n, d, kind: np.arange(n * d, dtype=kind).reshape(n, d),
                   st.integers(0, 3), st.integers(1, 3), st.sampled_from(["float32", "float64", "int64"]))
leaves = st.integers(-5, 10**6) | st.floats(allow_nan=False) | st.text(max_size=4) | st.none() | arrays
trees = st.recursive(leaves, lambda inner: (
    st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(st.integers(0, 9) | st.text(max_size=2), inner, max_size=3)
    | st.sets(hashable, max_size=3)), max_leaves=12)
WRAPS = ("list", "tuple", "dict", "pair")


def wrap(obj: Any, layers: list[str]) -> Any:
    """``obj`` inside one container per entry of ``layers`` (depth grows by one each)."""
    for layer in layers:
        obj = {"list": lambda x: [x], "tuple": lambda x: (x,), "dict": lambda x: {"k": x},
               "pair": lambda x: (0, [x, "s"])[1]}[layer](obj)
    return obj


@settings(max_examples=150, deadline=None)
@given(tree=trees, layers=st.lists(st.sampled_from(WRAPS), max_size=MAX_NESTING + 6), protocol=st.sampled_from(PROTOCOLS))
def test_measured_depth_is_the_real_depth_and_the_bound_holds(tree, layers, protocol):
    obj = wrap(tree, layers)
    raw = pickle.dumps(obj, protocol=protocol)
    depth = real_depth(obj)
    assert nesting_depth(raw).depth == depth
    if depth <= MAX_NESTING:
        assert same(safe_unpickle(raw), obj)
    else:
        with pytest.raises(DataFormatError, match=f"nested more than {MAX_NESTING} deep"):
            safe_unpickle(raw)


@settings(max_examples=40, deadline=None)
@given(tree=trees, layers=st.lists(st.sampled_from(WRAPS), max_size=MAX_NESTING + 4))
def test_python2_streams_are_measured_and_loaded_the_same(tree, layers, tmp_path_factory):
    """Protocol 2 as Python 2 wrote it (BINSTRING strings): same depth, same object, memo writes left out."""
    obj = wrap(tree, layers)
    path = tmp_path_factory.mktemp("py2") / "obj.pkl"
    try:
        _dump_python2(obj, path)
    except UnicodeEncodeError:  # a Python 2 str holds bytes: latin1 text only
        assume(False)
    assert nesting_depth(path.read_bytes()).depth == real_depth(obj)
    if real_depth(obj) <= MAX_NESTING:
        assert same(safe_unpickle(path), pickle.loads(path.read_bytes(), encoding="latin1"))


def test_the_shape_of_video_speakers_is_depth_two_at_every_protocol():
    obj = {i: ["M", "F"] for i in range(200)}  # refused at protocols 1, 2, 4 and 5 before
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        raw = pickle.dumps(obj, protocol=protocol)
        assert nesting_depth(raw).depth == 2
        assert safe_unpickle(raw) == obj


@pytest.mark.parametrize("depth", [MAX_NESTING, MAX_NESTING + 1])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_bound_is_exact(depth, protocol):
    raw = pickle.dumps(wrap(1, ["list"] * depth), protocol=protocol)
    if depth <= MAX_NESTING:
        assert real_depth(safe_unpickle(raw)) == depth
    else:
        with pytest.raises(DataFormatError, match="nested more than 32 deep"):
            safe_unpickle(raw)


def test_a_deep_nest_is_refused_after_a_few_opcodes_whatever_its_size():
    """Counted work, not time: the 4 MB nest is refused after reading about 4 x MAX_NESTING opcodes."""
    depth = 2_000_000
    raw = b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."
    scan = nesting_depth(raw, limit=MAX_NESTING)
    assert scan.piled_up and not scan.complete
    assert scan.opcodes <= 4 * (MAX_NESTING + 1) + 2
    marks = b"\x80\x02" + b"(" * depth + b"."  # open marks only
    assert nesting_depth(marks, limit=MAX_NESTING).opcodes <= MAX_NESTING + 3
    with pytest.raises(DataFormatError, match="nested more than 32 deep"):
        safe_unpickle(raw)


def test_memo_writes_that_are_read_back_are_kept():
    """A shared list is written once and fetched from the memo: leaving its write out would break it."""
    shared = [1, 2]
    obj = {"a": shared, "b": shared, "c": [np.ones(2, np.float32)] * 3}
    raw = pickle.dumps(obj, protocol=2)
    loaded = safe_unpickle(raw)
    assert loaded["a"] is loaded["b"] and loaded["c"][0] is loaded["c"][2]
    assert same(loaded, obj)
    assert len(nesting_depth(raw).unread_memo) > 0  # some writes were left out, not these
