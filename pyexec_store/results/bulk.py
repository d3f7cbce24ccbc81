"""Checks of large containers at C speed: plain JSON only, no NaN.

Type sets, ``min``/``max``, ``sum`` and one strict orjson pass run in C, far
faster than visiting each value in Python; a container that fails them is
visited by the fast pre-pass instead.
"""

from __future__ import annotations

import math
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


def needs_nothing(container: Any) -> bool:
    """True when a large dict, list or tuple holds plain JSON only: no NaN, no big int.

    Type sets, ``min``/``max`` and ``sum`` run in C, far faster than visiting
    each value in Python; a container that fails these checks is visited.
    """
    values = container
    if type(container) is dict:
        key_types = set(map(type, container))
        if key_types != {str} and not (key_types == {int} and _int64_only(container)):
            return False
        values = container.values()
    types = set(map(type, values))
    if types <= _FLAT_SCALARS:
        if float in types:
            # NaN and Infinity make the sum non-finite (so may a finite overflow: then visit)
            return types == {float} and math.isfinite(sum(values))
        return int not in types or (types == {int} and _int64_only(values))
    if types & _CONTAINERS and types <= _FLAT_SCALARS | _CONTAINERS:
        # nested plain JSON (a list of records, say): let orjson check it in strict mode,
        # where it raises on anything else (int keys too); "null" in its output may be a
        # NaN: visit then
        try:
            return b"null" not in orjson.dumps(container, option=_STRICT)
        except Exception:
            return False
    return False


def _int64_only(ints: Any) -> bool:
    return bool(min(ints) >= INT_MIN and max(ints) <= INT_MAX)
