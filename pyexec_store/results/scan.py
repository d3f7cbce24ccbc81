"""A cheap scan of a document's bytes, in C: how deep it nests.

In time and memory proportional to the document: a regular expression
removes the strings (no backtracking), ``bytes.translate`` keeps the brackets,
and their running sum is taken by ``itertools.accumulate``.
"""

from __future__ import annotations

import re
from itertools import accumulate

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
