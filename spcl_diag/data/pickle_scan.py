"""What a pickle's opcodes say before it is loaded: its nesting depth and its memo use.

:func:`nesting_depth` reads the opcode stream once, without building anything, and
:func:`without_unused_memo` replays the stream to the unpickler without the memo writes
that nothing reads back (see its docstring for why that halves the peak memory of the
Python 2 feature files). :mod:`spcl_diag.data.safe_pickle` uses both.
"""

from __future__ import annotations

import io
import pickletools
from array import array
from dataclasses import dataclass, field
from typing import IO, Any


@dataclass(frozen=True)
class NestingScan:
    """What :func:`nesting_depth` read of a pickle's opcode stream."""

    depth: int  # nesting of the loaded object (stopped early: of the deepest item built so far)
    opcodes: int  # opcodes read
    complete: bool  # the stream was read to its STOP (False: stopped past ``limit``, or corrupt)
    piled_up: bool = False  # stopped: more items outside every mark than ``limit`` levels can leave
    unread_memo: array = field(default_factory=lambda: array("q"))  # [start, end, ...] of PUTs never read back


class _Node:
    """An item of the simulated unpickler stack: the container depth of the object it stands for."""

    __slots__ = ("depth",)

    def __init__(self, depth: int) -> None:
        self.depth = depth


_LEAF = _Node(0)  # numbers, strings, bytes, globals: shared, never deepened
# What each opcode does to the stack, by kind (pickletools names; protocols 0-5).
_PUSH_LEAF = frozenset({
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING", "SHORT_BINSTRING",
    "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE",
    "BINUNICODE8", "NONE", "NEWTRUE", "NEWFALSE", "FLOAT", "BINFLOAT", "GLOBAL", "PERSID", "EXT1", "EXT2",
    "EXT4", "NEXT_BUFFER",
})
_PUSH_EMPTY = frozenset({"EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET", "EMPTY_TUPLE"})
_FROM_MARK = frozenset({"LIST", "TUPLE", "DICT", "FROZENSET"})  # build a container of the marked items
_INTO_TOP = {"APPEND": 1, "SETITEM": 2}  # pop n items into the container below them
_MARKED_INTO_TOP = frozenset({"APPENDS", "SETITEMS", "ADDITEMS"})  # the marked items into the one below
_TUPLE_N = {"TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}
_PUT = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_GET = frozenset({"GET", "BINGET", "LONG_BINGET"})


def nesting_depth(source: bytes | IO[bytes], *, limit: int | None = None) -> NestingScan:
    """Container depth of a pickle, read from its opcodes without building anything.

    The unpickler's stack is simulated with one number per item, the depth of the object
    the item will be: a container opcode (``EMPTY_LIST`` ... ``LIST``, ``TUPLE1-3``,
    ``DICT``, ``FROZENSET``) makes an item of depth 1 + the deepest item it consumes;
    ``APPEND(S)``, ``SETITEM(S)`` and ``ADDITEMS`` raise the target's depth to 1 + the
    deepest item added; ``REDUCE`` / ``NEWOBJ(_EX)`` / ``OBJ`` / ``INST`` make an object as
    deep as the deepest of its arguments (``set([x, y])`` at protocol 2 is as deep as the
    list), ``BUILD`` raises its target to the depth of the state's items; ``MARK``,
    ``POP``, ``POP_MARK``, ``DUP`` and the memo (``PUT``, ``MEMOIZE``, ``GET``; a memo
    entry is the same item, so filling a memoised list deepens it everywhere) act as in the
    unpickler. So a numeric numpy array is depth 1 (its shape tuple), ``{0: ["M", "F"]}``
    is 2, and the standard feature files are about 5.

    Parameters
    ----------
    source
        The pickled bytes or a binary file positioned at the pickle.
    limit
        Stop reading once an item deeper than ``limit + 1`` is built (the arguments of a
        ``REDUCE`` or the state of a ``BUILD`` lie one level above the object they make,
        so a loaded object of depth ``limit`` may need ``limit + 1`` on the way), once more than ``limit + 1`` marks are
        open at once, or once more than ``4 * (limit + 1)`` items lie on the stack outside
        every mark (``piled_up``): a pickler leaves at most a few there per nesting level
        (the items of a batch or a long tuple come after a ``MARK``), so only a deeper nest
        needs more. A deep nest is thus refused after a few opcodes, whatever its size.

    Returns
    -------
    NestingScan
        The deepest nesting seen, the opcodes read, and whether the stream was read to its
        end. A corrupt stream ends the scan where it breaks (``complete=False``); the
        unpickler then reports it.

    Notes
    -----
    For a stream written by :mod:`pickle`, the depth equals the nesting of the loaded
    object (containers and numeric arrays). A hand-made stream can deepen a container
    through the memo after a parent consumed it; such a nest is caught once loaded, by the
    walk :func:`safe_unpickle` makes over the result.

    Examples
    --------
    >>> import pickle
    >>> nesting_depth(pickle.dumps({i: ["M", "F"] for i in range(200)}, protocol=4)).depth
    2
    >>> scan = nesting_depth(b"\\x80\\x02" + b"]" * 1_000_000 + b"a" * 999_999 + b".", limit=32)
    >>> scan.piled_up, scan.opcodes
    (True, 134)
    """
    bound = limit if limit is not None else float("inf")
    loose = 4 * (bound + 1)  # items a pickler leaves outside every mark: a few per nesting level
    stack: list[_Node] = []  # the frame since the last open MARK
    marks: list[list[_Node]] = []  # the frames below it
    memo: dict[int, _Node] = {}
    deepest = count = 0
    puts = array("q")  # start, memo index, end of every PUT / BINPUT / LONG_BINPUT
    open_put = False  # the previous opcode was a PUT: its end is this opcode's start
    read_back: set[int] = set()
    memoized = False  # protocol 4+ numbers the memo implicitly (MEMOIZE): nothing can be left out
    try:
        for opcode, value, at in pickletools.genops(source):
            arg: Any = value  # the memo index of a PUT or a GET
            pos = at or 0  # a stream's offsets are always known
            count += 1
            name = opcode.name
            if open_put:
                puts.append(pos)
                open_put = False
            made = 0  # the depth of a container this opcode makes, or 0
            target = None  # the container it deepens, and with which items
            items: list[_Node] = []
            if name in _PUSH_LEAF:
                stack.append(_LEAF)
                if not marks and len(stack) > loose:
                    return NestingScan(deepest, count, False, piled_up=True)
            elif name in _PUT:
                memo[arg] = stack[-1]
                puts.extend((pos, arg))
                open_put = True
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
                memoized = True
            elif name in _GET:
                stack.append(memo[arg])
                read_back.add(arg)
            elif name == "MARK":
                marks.append(stack)
                stack = []
                if len(marks) > bound + 1:
                    return NestingScan(max(deepest, len(marks) - 1), count, False)
            elif name in _INTO_TOP:
                items = stack[-_INTO_TOP[name]:]
                del stack[-_INTO_TOP[name]:]
                target = stack[-1]
            elif name in _MARKED_INTO_TOP:
                items, stack = stack, marks.pop()
                target = stack[-1]
            elif name in _PUSH_EMPTY:
                made = 1
            elif name in _TUPLE_N:
                items = stack[-_TUPLE_N[name]:]
                del stack[-_TUPLE_N[name]:]
                made = 1 + max(item.depth for item in items)
            elif name in _FROM_MARK:
                items, stack = stack, marks.pop()
                made = 1 + max((item.depth for item in items), default=0)
            elif name in ("REDUCE", "NEWOBJ"):  # callable(*args): as deep as the args' items
                args = stack.pop()
                stack[-1] = _Node(max(args.depth - 1, 0))
            elif name == "NEWOBJ_EX":
                kwargs, args = stack.pop(), stack.pop()
                stack[-1] = _Node(max(args.depth - 1, kwargs.depth - 1, 0))
            elif name in ("OBJ", "INST"):
                items, stack = stack, marks.pop()
                arguments = items[1:] if name == "OBJ" else items
                stack.append(_Node(max((item.depth for item in arguments), default=0)))
            elif name == "BUILD":  # obj.__setstate__(state): as deep as the state's items
                state = stack.pop()
                target, items = stack[-1], [_Node(state.depth - 2)]
            elif name == "STACK_GLOBAL":
                del stack[-2:]
                stack.append(_LEAF)
            elif name == "BINPERSID":
                stack[-1] = _LEAF
            elif name == "POP":
                if stack:
                    stack.pop()
                else:
                    stack = marks.pop()
            elif name == "POP_MARK":
                stack = marks.pop()
            elif name == "DUP":
                stack.append(stack[-1])
            elif name == "STOP":  # the loaded object is the top item
                unread = array("q") if memoized else _unread_puts(puts, read_back)
                return NestingScan(stack[-1].depth if stack else 0, count, True, unread_memo=unread)
            # PROTO, FRAME and READONLY_BUFFER leave the stack as it is
            if made:
                stack.append(_Node(made))
                if not marks and len(stack) > loose:
                    return NestingScan(max(deepest, made), count, False, piled_up=True)
            elif target is not None and target is not _LEAF:  # a broken stream fills a number: load refuses
                made = target.depth = max(target.depth, 1 + max((item.depth for item in items), default=-1))
            if made > deepest:
                deepest = made
                if deepest > bound + 1:  # an argument tuple is one level above what it builds
                    return NestingScan(deepest, count, False)
    except (ValueError, IndexError, KeyError):  # a corrupt stream: the unpickler says what is wrong
        pass
    return NestingScan(deepest, count, False)




def _unread_puts(puts: array, read_back: set[int]) -> array:
    """``[start, end, ...]`` of the memo writes (``puts`` holds start, index, end) that no GET reads."""
    unread = array("q")
    for k in range(0, len(puts) - 2, 3):
        if puts[k + 1] not in read_back:
            unread.extend((puts[k], puts[k + 2]))
    return unread


def without_unused_memo(handle: IO[bytes], scan: NestingScan) -> IO[bytes]:
    """``handle`` as the unpickler should read it: without the memo writes nothing reads back.

    The unpickler keeps every memoised object until the load ends. Python 2 pickled each
    ``str`` (a numpy array's data included) with a memo write, and the C unpickler keeps
    the decoded string beside the array made from it, so a Python 2 feature file peaks at
    twice its size in memory. A memo entry that no ``GET`` reads changes nothing in the
    loaded object, so leaving its write out is exact. Streams numbered implicitly by
    ``MEMOIZE`` (protocol 4 and 5) are read as they are: leaving one out would renumber
    the rest.

    Parameters
    ----------
    handle
        The pickle, seekable and positioned at its start.
    scan
        :func:`nesting_depth` of the same stream, read to its end.
    """
    if not scan.unread_memo:
        return handle
    return io.BufferedReader(_Skipping(handle, scan.unread_memo), buffer_size=1 << 16)


class _Skipping(io.RawIOBase):
    """A reader of ``source`` that leaves out the byte ranges ``[start, end, ...]`` (ascending)."""

    def __init__(self, source: IO[bytes], skips: array) -> None:
        self._source = source
        self._skips = skips
        self._next = 0  # the next range to leave out, as an index into skips
        self._pos = source.tell()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        view = memoryview(buffer).cast("B")
        skips, filled = self._skips, 0
        while filled < len(view):  # a whole buffer per call: a memo write every few dozen bytes
            while self._next < len(skips) and skips[self._next] <= self._pos:
                self._pos = skips[self._next + 1]
                self._source.seek(self._pos)
                self._next += 2
            stop = len(view) if self._next == len(skips) else min(len(view), filled + skips[self._next] - self._pos)
            got = self._source.readinto(view[filled:stop]) or 0  # type: ignore[attr-defined]
            if got == 0:
                break
            filled += got
            self._pos += got
        return filled
