"""The fast path: a copy-on-write pre-pass, then one ``orjson.dumps`` call.

The pre-pass visits the containers and replaces only what orjson would refuse
or write differently (values of the conversion chain, float16/32 arrays,
float and exotic keys, integers beyond 64 bits as ``orjson.Fragment`` with
their exact digits), noting non-finite floats for the warnings. Containers are
copied only where something inside them changed; large ones are checked in
bulk first (:mod:`.bulk`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from ._numpy import INT_MAX, INT_MIN, prepare_array
from ._text import safe_str
from .bulk import BULK_MIN, needs_nothing
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
from .limits import TooDeep

#: orjson stops at 254 nested containers; stay below it (conversions count too).
FAST_DEPTH = 240
#: Conversions one value may go through before it is written as its string record
#: (a ``MagicMock``'s ``tolist()`` returns a new mock, forever).
MAX_CONVERSIONS = 100
#: Attempts before a result mutated by another thread goes the exact way.
_ATTEMPTS = 3


def base_iter(seq: list[Any] | tuple[Any, ...]) -> Iterator[Any]:
    """The items of a list or tuple (subclass), by its storage, as the stdlib reads it."""
    return list.__iter__(seq) if isinstance(seq, list) else tuple.__iter__(seq)


class FastPass:
    """One pre-pass over the results, for one ``orjson.dumps`` call."""

    __slots__ = ("big_ints", "conv", "log")

    def __init__(self, conv: Converter) -> None:
        self.conv = conv
        self.log = conv.log
        self.big_ints = False  # an integer orjson.loads would round was written

    def reset(self) -> None:
        self.big_ints = False

    def dumps(self, obj: Any, option: int) -> bytes | None:
        """orjson's document after the pre-pass, or None if only the exact path can write it."""
        attempts = _ATTEMPTS
        while True:
            try:
                return orjson.dumps(self.fast(obj), default=self.fast, option=option)
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
                return self._container(dict(obj.items()), depth)
            if kind == LIST:
                return self._container(list(base_iter(obj)), depth)
        if kind in (DICT, LIST):
            return self._container(obj, depth)
        if kind == STR:
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
                return prepared
            return self.fast(prepared, depth + 1, conversions + 1)
        if kind == FRAGMENT:
            try:  # already JSON: written verbatim, as orjson does, once it parses
                orjson.loads(orjson.dumps(obj))
            except orjson.JSONDecodeError:
                return self.conv.string_record(obj, " (invalid orjson.Fragment)")
            return obj
        return self.fast(self.conv.convert(obj), depth + 1, conversions + 1)

    def _int(self, value: int) -> Any:
        if INT_MIN <= value <= INT_MAX:
            return value
        exact = self.conv.exact_int(value)
        if type(exact) is not int:
            return self.fast(exact)  # the string record of an integer beyond the digit bound
        self.big_ints = True  # orjson.loads would round it
        return orjson.Fragment(int.__repr__(value))

    def _container(self, obj: Any, depth: int) -> Any:
        """``obj`` (a dict, list or tuple, or the base value of a subclass) prepared."""
        if depth >= FAST_DEPTH:
            raise TooDeep
        if len(obj) >= BULK_MIN and needs_nothing(obj):
            return obj
        is_dict = type(obj) is dict
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
            if tv is str or tv is bool or v is None:
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
                new = self._container(v, depth + 1)
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
        return self.conv.convert_keys(result.items()) if odd_keys else result

    def loads(self, data: bytes) -> Any:
        """The document written by :meth:`dumps`, parsed back (big integers exact)."""
        # orjson.loads rounds integers beyond 64 bits: parse those documents exactly
        return loads_exact(data) if self.big_ints else orjson.loads(data)
