"""The exact path: an iterative, cycle-aware walk that builds plain Python.

Used when the fast path cannot finish: nesting deeper than orjson's 254
levels, a cycle, lone surrogates, a dict resized by another thread on every
attempt. It takes any depth (up to :data:`~.limits.MAX_DEPTH`), snapshots each
container before reading it, tells a cycle (the ``_serialization_failed``
record for the whole document) from a value whose conversions never end (its
string record after ``MAX_CONVERSIONS`` conversions), and, like the fast path,
adds up a lower bound of the document's size and walks a shared container
once (once the document passes ``MEMO_AFTER`` bytes).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import orjson

from ._numpy import numpy_plain, prepare_array
from ._text import failed_record
from .convert import ARRAY, CONST, DICT, FLOAT, FRAGMENT, INT, LIST, STR, Converter, classify
from .fast import MAX_CONVERSIONS, MEMO_AFTER, base_iter
from .limits import MAX_BYTES, MAX_DEPTH, Circular, Runaway, TooLarge, too_large_record

# what _resolve found
_LEAF, _NONFINITE, _DICT, _LIST, _KNOWN = range(5)
_END: Any = object()


def _snapshot(items: Callable[[], Any]) -> list[Any]:
    """``list(items())``, retried if another thread resizes the container meanwhile."""
    for _ in range(10):
        try:
            return list(items())
        except RuntimeError:
            continue
    return []


class ExactWalker:
    """Plain JSON-able Python from any value, at any depth."""

    def __init__(
        self, conv: Converter | None = None, *, limit: int = MAX_BYTES, indent: int | None = None
    ) -> None:
        self.conv = conv if conv is not None else Converter()
        self.log = self.conv.log
        self.limit = limit
        self.line = 0 if indent is None else 1 + indent  # newline and indentation, per item
        self.max_depth = 0  # deepest nesting met

    def plain(self, root: Any) -> Any:
        """``root`` as plain JSON-able Python; cycles and runaways give the failed record."""
        self.log.reset()
        self.max_depth = 0
        self.size = 0  # a lower bound of the document's size so far
        self.memo: dict[int, tuple[Any, int, Any]] = {}  # id -> (container, size, output)
        try:
            return self._plain(root)
        except Circular:
            self.log.reset()
            self.log.warn(
                "circular reference; the whole document is a _serialization_failed record"
            )
            return failed_record(root, "Circular reference detected")
        except Runaway:
            self.log.reset()
            self.log.warn(f"nesting deeper than {MAX_DEPTH} levels; document not serialized")
            return failed_record(root, f"nesting deeper than {MAX_DEPTH} levels")
        except TooLarge as e:
            return too_large_record(self.log, root, self.limit, e.size)
        finally:
            self.memo = {}

    def _resolve(self, value: Any, active: set[int]) -> tuple[int, Any, list[Any]]:
        """Convert ``value`` until it is a leaf, a non-finite float, a dict or a list.

        Returns the kind (``_LEAF``, ``_NONFINITE``, ``_DICT``, ``_LIST``, or
        ``_KNOWN`` for a container already written, with its (size, output)),
        the leaf value or the container's items, and the objects met on the way
        (kept alive, and marked active while the walk is below them).
        """
        start = value
        chain: list[Any] = []
        seen: set[int] = set()  # ids of chain (alive while chain is), for cycles
        ndarray = self.conv.ndarray
        while True:
            kind = classify(value, ndarray)
            if kind == STR:
                text = value if type(value) is str else str.__str__(value)
                self.size += len(text)
                return _LEAF, text, chain
            if kind == CONST:
                return _LEAF, value, chain
            if kind == INT:
                number = value if type(value) is int else int.__int__(value)
                return _LEAF, self.conv.exact_int(number), chain
            if kind == FLOAT:
                real = value if type(value) is float else float.__float__(value)
                return (_LEAF if real - real == 0 else _NONFINITE), real, chain
            if id(value) in active or id(value) in seen:
                raise Circular
            if kind == FRAGMENT:
                try:
                    value = orjson.loads(orjson.dumps(value))
                except orjson.JSONDecodeError:
                    record = self.conv.string_record(value, " (invalid orjson.Fragment)")
                    return _LEAF, record, chain
                return _LEAF, value, chain  # parsed JSON is plain already
            if kind in (DICT, LIST):
                chain.append(value)
                seen.add(id(value))
                if self.size > MEMO_AFTER and id(value) in self.memo:
                    return _KNOWN, self.memo[id(value)][1:], chain
                if kind == DICT:
                    items = self.conv.convert_keys(_snapshot(value.items)).items()
                    return _DICT, list(items), chain
                return _LIST, _snapshot(functools.partial(base_iter, value)), chain
            if len(chain) >= MAX_CONVERSIONS:
                why = f" (still not JSON after {MAX_CONVERSIONS} conversions)"
                return _LEAF, self.conv.string_record(start, why), []
            chain.append(value)
            seen.add(id(value))
            if kind == ARRAY:
                value = prepare_array(self.conv, value)
                if type(value) is ndarray:
                    value = numpy_plain(value)  # what the fast path writes, as plain Python
            else:
                value = self.conv.convert(value)

    def _plain(self, root: Any) -> Any:
        active: set[int] = set()
        log = self.log
        kind, payload, chain = self._resolve(root, active)
        if kind == _NONFINITE:
            log.nonfinite([(None, payload)])
            return None
        if kind == _LEAF:
            return payload
        if kind == _KNOWN:
            return payload[1]
        # frame: [items iterator, output, is_dict, chain, non-finite values found, size before,
        # remembered]
        stack: list[list[Any]] = []

        def push(kind: int, payload: list[Any], chain: list[Any]) -> Any:
            out: Any = {} if kind == _DICT else []
            for c in chain:
                active.add(id(c))
            start = self.size
            self.size += len(payload) * (2 + self.line)
            if kind == _DICT:
                self.size += sum(len(k) + 3 for k, _ in payload)
            stack.append([iter(payload), out, kind == _DICT, chain, [], start, start > MEMO_AFTER])
            self.max_depth = max(self.max_depth, len(stack))
            return out

        result = push(kind, payload, chain)
        path = log.path
        while stack:
            frame = stack[-1]
            out, is_dict = frame[1], frame[2]
            item = next(frame[0], _END)
            if item is _END:
                if frame[4]:
                    log.nonfinite(frame[4])
                stack.pop()
                for c in frame[3]:
                    active.discard(id(c))
                if path:
                    path.pop()
                if frame[6]:
                    container = frame[3][-1]
                    self.memo[id(container)] = (container, self.size - frame[5], out)
                if self.size > self.limit:
                    raise TooLarge(self.size)
                continue
            if is_dict:
                where, value = item
            else:
                where, value = len(out), item
            path.append(where)
            kind, payload, chain = self._resolve(value, active)
            if kind in (_LEAF, _NONFINITE, _KNOWN):
                path.pop()
                if kind == _NONFINITE:
                    frame[4].append((where, payload))
                    payload = None
                elif kind == _KNOWN:
                    self.size += payload[0]
                    if self.size > self.limit:
                        raise TooLarge(self.size)
                    payload = payload[1]
                child = payload
            else:
                if len(stack) >= MAX_DEPTH:
                    raise Runaway
                child = push(kind, payload, chain)  # its path entry stays until it closes
            if is_dict:
                out[where] = child
            else:
                out.append(child)
        return result
