"""Checks of large containers at C speed: plain JSON only, no NaN, and how large.

Type sets, ``min``/``max``, ``sum`` and one strict orjson pass run in C, far
faster than visiting each value in Python; a container that fails them is
visited by the fast pre-pass instead. Each check also gives a lower bound of
the container's compact JSON size, so that the size bound of the document is
known before the document is written.

The strict orjson pass writes nested containers in full: before it, a
breadth-first look at the containers inside (``gc.get_referents``, in C) makes
sure none is reached twice, since a structure that shares its parts
(``a = [a, a]``, thirty times) would be written 2**30 times over.
"""

from __future__ import annotations

import gc
import math
import operator
import sys
from itertools import compress, repeat
from typing import Any

import orjson

from ._numpy import INT_MAX, INT_MIN

#: Containers this large are first checked in bulk.
BULK_MIN = 64
_FLAT_SCALARS = frozenset({str, bool, type(None), int, float})
_CONTAINERS = frozenset({dict, list, tuple})
#: orjson refusing everything that is not plain JSON (so that it raises instead).
_STRICT = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def plain_size(container: Any) -> int | None:
    """A lower bound of the compact JSON size of a large dict, list or tuple of plain JSON.

    None when it holds anything else (a NaN, an int beyond 64 bits, a non-str
    key other than a 64-bit int, any other type): then it must be visited.
    """
    values = container
    n = len(container)
    size = 2 * n
    if type(container) is dict:
        key_types = set(map(type, container))
        if key_types == {str}:
            size += sum(map(len, container))
        elif not (key_types == {int} and _int64_only(container)):
            return None
        size += 3 * n
        values = container.values()
    types = set(map(type, values))
    if types <= _FLAT_SCALARS:
        if float in types:
            # NaN and Infinity make the sum non-finite (so may a finite overflow: then visit)
            if types == {float} and math.isfinite(sum(values)):
                return size + 2 * n  # "0.0" at least
            return None
        if int in types and not (types == {int} and _int64_only(values)):
            return None
        if str in types:
            strs = values if types == {str} else _of_type(values, str)
            size += sum(map(len, strs))
        return size
    if types & _CONTAINERS and types <= _FLAT_SCALARS | _CONTAINERS and _tree_like(container):
        # nested plain JSON (a list of records, say): let orjson check it in strict mode,
        # where it raises on anything else (int keys too); "null" in its output may be a
        # NaN: visit then
        try:
            text = orjson.dumps(container, option=_STRICT)
        except Exception:
            return None
        return None if b"null" in text else len(text)
    return None


def _int64_only(ints: Any) -> bool:
    return bool(min(ints) >= INT_MIN and max(ints) <= INT_MAX)


def _of_type(values: Any, t: type) -> Any:
    values = list(values)
    return compress(values, map(operator.is_, map(type, values), repeat(t)))


def _next_level(level: list[Any]) -> list[Any]:
    """The containers (and other tracked objects) directly inside those of ``level``."""
    return list(filter(gc.is_tracked, gc.get_referents(*level)))


def _calibrate() -> int:
    """What ``sys.getrefcount`` says, in :func:`_tree_like`, of a container held once."""
    probe = [[0]]  # held, like every parent in _tree_like, while its children are counted
    level = _next_level([probe])
    return max(map(sys.getrefcount, level))


_HELD_ONCE = _calibrate()


def _tree_like(container: Any) -> bool:
    """True when no container inside ``container`` is reached twice (nor is ``container``).

    Containers held once only (by reference count) prove it at once; otherwise
    the identities of all containers inside are compared. False also when
    anything but dicts, lists and tuples is inside (orjson's strict pass would
    refuse it anyway), so that nothing but plain containers is looked into.
    """
    level = [container]
    while True:
        level = _next_level(level)
        if not level:
            return True
        if not set(map(type, level)) <= _CONTAINERS:
            return False
        if max(map(sys.getrefcount, level)) > _HELD_ONCE:
            return _no_repeats(container)


def _no_repeats(container: Any) -> bool:
    seen = {id(container)}
    count = 1
    level = [container]
    while level:
        level = _next_level(level)
        if not set(map(type, level)) <= _CONTAINERS:
            return False
        count += len(level)
        seen.update(map(id, level))
        if len(seen) != count:
            return False
    return True
