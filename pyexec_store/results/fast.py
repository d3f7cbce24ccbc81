"""The fast path: a copy-on-write pre-pass, then one ``orjson.dumps`` call.

The pre-pass visits the containers and replaces only what orjson would refuse
or write differently (values of the conversion chain, float16/32 arrays,
float and exotic keys, integers beyond 64 bits as ``orjson.Fragment`` with
their exact digits), noting non-finite floats for the warnings. Containers are
copied only where something inside them changed; large ones are checked in
bulk first (:mod:`.bulk`).

While it walks, it adds up a lower bound of the document's size, and stops
with :class:`~.limits.TooLarge` past the bound. A container met again (a
structure sharing its parts) is not walked again: after the first
``MEMO_AFTER`` bytes, each container's result and size are remembered, so a
structure such as ``a = [a, a]`` thirty times costs a few thousand visits, not 2**30.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from ._numpy import INT_MAX, INT_MIN, min_bytes, prepare_array
from ._text import safe_str
from .bulk import BULK_MIN, plain_size
from .convert import (
    ARRAY,
    CONST,
    DICT,
    FLOAT,
    FRAGMENT,
    INT,
    KIND,
    LIST,
    OTHER,
    STR,
    Converter,
    classify,
)
from .jsontext import loads_exact
from .limits import TooDeep, TooLarge

#: orjson stops at 254 nested containers; stay below it (conversions count too).
FAST_DEPTH = 240
#: Conversions one value may go through before it is written as its string record
#: (a ``MagicMock``'s ``tolist()`` returns a new mock, forever).
MAX_CONVERSIONS = 100
#: Containers are remembered (a shared one is then not walked again) once the document
#: is this large: small documents skip the bookkeeping, large ones are bounded by it.
MEMO_AFTER = 1 << 16
#: Attempts before a result mutated by another thread goes the exact way.
_ATTEMPTS = 3


def base_iter(seq: list[Any] | tuple[Any, ...]) -> Iterator[Any]:
    """The items of a list or tuple (subclass), by its storage, as the stdlib reads it."""
    return list.__iter__(seq) if isinstance(seq, list) else tuple.__iter__(seq)


class FastPass:
    """One pre-pass over the results, for one ``orjson.dumps`` call."""

    __slots__ = ("big_ints", "conv", "limit", "log", "memo", "per_item", "size")

    def __init__(self, conv: Converter, limit: int, indent: int | None) -> None:
        self.conv = conv
        self.log = conv.log
        self.limit = limit
        # per item at least: a value and a comma, and a newline and indentation if indented
        self.per_item = 2 if indent is None else 3 + indent
        self.big_ints = False  # an integer orjson.loads would round was written
        self.size = 0  # a lower bound of the document's size so far
        # id -> (container, size, result), from MEMO_AFTER bytes on
        self.memo: dict[int, tuple[Any, int, Any]] | None = None

    def reset(self) -> None:
        self.big_ints = False
        self.size = 0
        self.memo = None

    def dumps(self, obj: Any, option: int) -> bytes | None:
        """orjson's document after the pre-pass, or None if only the exact path can write it.

        Raises :class:`TooLarge` past the size bound.
        """
        attempts = _ATTEMPTS
        while True:
            try:
                prepared = self.fast(obj)
                if self.size > self.limit:
                    raise TooLarge(self.size)
                data = orjson.dumps(prepared, default=self.fast, option=option)
            except TooLarge:
                raise
            except (RuntimeError, orjson.JSONEncodeError) as e:
                # "dictionary changed size during iteration" (another thread): try again
                attempts -= 1
                if isinstance(e, RecursionError) or "changed" not in str(e) or not attempts:
                    return None
                self.log.reset()
                self.reset()
                continue
            except Exception:  # TooDeep, lone surrogates, anything else
                return None
            if len(data) > self.limit:
                raise TooLarge(len(data))
            return data

    def fast(self, obj: Any, depth: int = 0, conversions: int = 0) -> Any:
        """``obj`` with everything orjson would refuse or write differently replaced."""
        kind = KIND.get(type(obj))
        if kind is None:
            kind = classify(obj, self.conv.ndarray)
            if kind == OTHER:
                if depth >= FAST_DEPTH or conversions >= MAX_CONVERSIONS:
                    raise TooDeep  # the exact path decides: circular, or a runaway conversion
                return self.fast(self.conv.convert(obj), depth + 1, conversions + 1)
            if kind == DICT:  # subclasses: the stdlib writes their base value
                return self._container(dict(obj.items()), depth, obj)
            if kind == LIST:
                return self._container(list(base_iter(obj)), depth, obj)
        if kind in (DICT, LIST):
            return self._container(obj, depth, obj)
        if kind == STR:
            self.size += len(obj)
            return obj  # orjson writes str subclasses by value
        if kind == CONST:
            return obj
        if kind == INT:
            return self._int(obj if type(obj) is int else int.__int__(obj))
        if kind == FLOAT:
            real = obj if type(obj) is float else float.__float__(obj)
            if real - real != 0:  # NaN or +-Infinity; orjson writes null
                self.log.nonfinite([(None, real)])
            return real
        if depth >= FAST_DEPTH or conversions >= MAX_CONVERSIONS:
            raise TooDeep  # the exact path decides: circular, or a runaway conversion
        if kind == ARRAY:
            prepared = prepare_array(self.conv, obj)
            ndarray: Any = self.conv.ndarray
            if type(prepared) is ndarray:
                self._add(min_bytes(prepared) + prepared.size * (self.per_item - 1))
                return prepared
            return self.fast(prepared, depth + 1, conversions + 1)
        if kind == FRAGMENT:
            try:  # already JSON: written verbatim, as orjson does, once it parses
                text = orjson.dumps(obj)
                orjson.loads(text)
            except orjson.JSONDecodeError:
                return self.conv.string_record(obj, " (invalid orjson.Fragment)")
            self.size += len(text)
            return obj
        return self.fast(self.conv.convert(obj), depth + 1, conversions + 1)

    def _int(self, value: int) -> Any:
        if INT_MIN <= value <= INT_MAX:
            return value
        exact = self.conv.exact_int(value)
        if type(exact) is not int:
            return self.fast(exact)  # the string record of an integer beyond the digit bound
        self.big_ints = True  # orjson.loads would round it
        text = int.__repr__(value)
        self.size += len(text)
        return orjson.Fragment(text)

    def _add(self, size: int) -> None:
        self.size += size
        if self.size > self.limit:
            raise TooLarge(self.size)

    def _container(self, obj: Any, depth: int, original: Any) -> Any:
        """``obj`` (a dict, list or tuple: ``original`` or its base value) prepared."""
        if depth >= FAST_DEPTH:
            raise TooDeep
        start = self.size
        memo = None
        if start > MEMO_AFTER:
            memo = self.memo
            if memo is None:
                memo = self.memo = {}
            known = memo.get(id(original))
            if known is not None:
                self._add(known[1])
                return known[2]
        n = len(obj)
        is_dict = type(obj) is dict
        size = n * (self.per_item + 3) if is_dict else n * self.per_item  # "": per key
        if n >= BULK_MIN:
            bulk = plain_size(obj)
            if bulk is not None:
                self._add(bulk + n * (self.per_item - 2))  # bulk: the compact size
                if memo is not None:
                    memo[id(original)] = (original, self.size - start, obj)
                return obj
        out: Any = None
        odd_keys = False
        plain_keys = False  # int, bool or None keys, written by orjson unless they collide
        nonfinite: list[tuple[Any, float]] | None = None
        path = self.log.path
        for k, v in obj.items() if is_dict else enumerate(obj):
            if is_dict and type(k) is not str:
                tk = type(k)
                if not ((tk is int and INT_MIN <= k <= INT_MAX) or tk is bool or k is None):
                    odd_keys = True  # float and exotic keys: converted below
                else:
                    plain_keys = True
            tv = type(v)
            if tv is str:
                size += len(v)
                continue
            if tv is bool or v is None:
                continue
            if tv is float:
                if v - v != 0:  # NaN or +-Infinity; orjson writes null
                    if nonfinite is None:
                        nonfinite = []
                    nonfinite.append((k if not is_dict or type(k) is str else safe_str(k), v))
                continue
            if tv is int and INT_MIN <= v <= INT_MAX:
                continue
            path.append(k if not is_dict or type(k) is str else safe_str(k))
            if tv is dict or tv is list or tv is tuple:
                new = self._container(v, depth + 1, v)
            else:
                new = self.fast(v, depth + 1)
            path.pop()
            if new is not v:
                if out is None:
                    out = dict(obj) if is_dict else list(obj)
                out[k] = new
        if nonfinite:
            self.log.nonfinite(nonfinite)
        result = obj if out is None else out
        if not odd_keys and plain_keys and self.conv.keys_collide(result):
            odd_keys = True  # {1: "a", "1": "b"}: one key, the last value, as the original
        if odd_keys:
            result = self.conv.convert_keys(result.items())
        # checked against the bound at the end, at bulk checks and when a remembered
        # container is met again
        self.size += size
        if memo is not None:
            memo[id(original)] = (original, self.size - start, result)
        return result

    def loads(self, data: bytes) -> Any:
        """The document written by :meth:`dumps`, parsed back (big integers exact)."""
        # orjson.loads rounds integers beyond 64 bits: parse those documents exactly
        return loads_exact(data) if self.big_ints else orjson.loads(data)
