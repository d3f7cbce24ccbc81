"""Cheap checks, mostly in C, of a document read or to be read: big integers, nesting depth.

orjson reads an integer beyond 64 bits as a float (rounded), so a document may
hold one only if orjson's reading holds a float of magnitude 2**63 or more:
:func:`holds_huge_floats` looks (``max``/``min`` over each container, in C),
and only then :func:`may_hold_big_ints` looks at the bytes. Both, like
:func:`nesting_depth`, take time and memory proportional to the document, with
no regular expression run over its numbers.
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any

#: Every digit as "0", the bytes a JSON number can follow as "\x01", a minus sign as
#: "\x02": runs of 19 digits are then found with ``bytes.find``, and what precedes
#: each run tells a number from the fraction or exponent of a float.
_MARKED = bytes.maketrans(b"0123456789[,: \t\n\r-", b"0000000000\x01\x01\x01\x01\x01\x01\x01\x02")
_RUN = b"0" * 19
_CHUNK = 1 << 23  # 8 MiB translated at a time
_DIGIT_RUN = re.compile(rb"0*")


def may_hold_big_ints(raw: bytes) -> bool:
    """True when ``raw`` may hold an integer that orjson reads rounded (beyond 64 bits).

    That is a number of 20 or more digits, or of 19 after a minus sign, that
    is not the mantissa of a float (followed by ``.``, ``e`` or ``E``). Digits
    inside strings may give a false alarm, which costs a slower exact parse,
    never a wrong value.
    """
    for start in range(0, len(raw), _CHUNK):
        # one byte before the chunk (what its first run follows), and an overlap after it
        chunk = raw[max(start - 1, 0) : start + _CHUNK + len(_RUN)].translate(_MARKED)
        if start == 0:
            chunk = b"\x01" + chunk  # the document's start: a number may begin there
        at = chunk.find(_RUN)
        while at != -1:
            end = _DIGIT_RUN.match(chunk, at).end()  # type: ignore[union-attr]
            digits = end - at
            long = digits >= 20 or (digits == 19 and chunk[at - 1] == 2)  # 2: after a minus
            if long and chunk[at - 1] in (1, 2) and chunk[end : end + 1] not in (b".", b"e", b"E"):
                return True
            at = chunk.find(_RUN, end)
    return False


#: orjson reads an integer beyond 64 bits as a float at least this large in magnitude.
_HUGE = 2.0**63


def holds_huge_floats(value: Any, budget: int) -> bool | None:
    """True when ``value`` (as orjson read it) holds a float of magnitude 2**63 or more.

    Large lists and dicts of numbers are checked with ``max`` and ``min``, in C;
    None when the walk would take more than ``budget`` steps in Python (a
    document of many small containers: the byte scan is then cheaper).
    """
    if type(value) is float:
        return not -_HUGE < value < _HUGE
    stack = [value] if type(value) is list or type(value) is dict else []
    steps = 0
    while stack:
        container = stack.pop()
        values = container.values() if type(container) is dict else container
        steps += 1
        try:
            if max(values) >= _HUGE or min(values) <= -_HUGE:  # numbers only
                return True
            continue
        except (TypeError, ValueError):  # other values, or empty
            pass
        steps += len(values)
        if steps > budget:
            return None
        for item in values:
            t = type(item)
            if t is float:
                if not -_HUGE < item < _HUGE:
                    return True
            elif t is list or t is dict:
                stack.append(item)
    return False


#: A JSON string, escapes included (unrolled: no backtracking per character).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
#: +1 for an opening bracket, -1 for a closing one.
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1
_DEPTH_CHUNK = 1 << 20


def nesting_depth(raw: bytes, bound: int) -> int:
    """The deepest nesting of brackets outside strings in ``raw``, counted up to ``bound + 1``."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for start in range(0, len(brackets), _DEPTH_CHUNK):
        chunk = brackets[start : start + _DEPTH_CHUNK]
        deepest = max(deepest, max(accumulate(map(_STEP.__getitem__, chunk), initial=depth)))
        if deepest > bound:
            return deepest
        depth += 2 * (chunk.count(b"[") + chunk.count(b"{")) - len(chunk)
    return deepest
