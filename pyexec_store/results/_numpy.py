"""Numpy arrays prepared for orjson, and datetime64 values within orjson's range.

orjson writes numeric numpy arrays natively and copy-free; these functions hand
it only arrays it writes exactly as ``tolist()`` would (widening float16/32,
making odd layouts contiguous), and everything else as ``tolist()`` values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from ._text import type_name

if TYPE_CHECKING:
    from .convert import Converter

#: orjson refuses integers outside this range.
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1
#: The datetime64 range orjson writes and ``tolist()`` gives datetimes for, in seconds
#: from the epoch: 0001-01-01T00:00:00 to 9999-12-30T22:00:00 (orjson's last instant).
_DT64_MIN_S = -62_135_596_800
_DT64_MAX_S = 253_402_207_200
#: datetime64 units as (seconds numerator, denominator); years and months apart.
_DT64_UNITS = {
    "W": (604_800, 1),
    "D": (86_400, 1),
    "h": (3_600, 1),
    "m": (60, 1),
    "s": (1, 1),
    "ms": (1, 10**3),
    "us": (1, 10**6),
    "ns": (1, 10**9),
    "ps": (1, 10**12),
    "fs": (1, 10**15),
    "as": (1, 10**18),
}
#: Fewest bytes orjson writes per element of a prepared array, by dtype kind.
_MIN_ELEMENT_BYTES = {"f": 3, "i": 1, "u": 1, "b": 4, "M": 21}


def numpy_plain(value: Any) -> Any:
    """What orjson writes for a (prepared) numpy array, as plain Python."""
    return orjson.loads(orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY))


def min_bytes(arr: Any) -> int:
    """A lower bound of the JSON size of a prepared array (without separators)."""
    return int(arr.size) * _MIN_ELEMENT_BYTES.get(arr.dtype.kind, 1)


def prepare_array(conv: Converter, arr: Any) -> Any:
    """An array orjson writes exactly as ``tolist()`` would, or a Python value to walk on."""
    try:
        return _prepare(conv, arr)
    except Exception as e:
        conv.warn(f"array could not be converted as such ({type_name(e)}); used tolist()")
    try:
        return arr.tolist()
    except Exception:
        return conv.string_record(arr, " (tolist() failed)")


def _prepare(conv: Converter, arr: Any) -> Any:
    np = conv.np
    if type(arr) is not np.ndarray:
        return arr.tolist()  # matrix, masked array: their own tolist(), as the original
    if arr.ndim == 0:
        return arr[()]  # the scalar (or the object) it holds
    kind = arr.dtype.kind
    if kind == "f":
        if arr.dtype.itemsize > 8:
            conv.warn(f"{arr.dtype} array narrowed to float64")
        # float16/32 are written by tolist() as the float64 they widen to
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        if not np.isfinite(arr).all():  # orjson writes them as null
            nan, pos, neg = (int(f(arr).sum()) for f in (np.isnan, np.isposinf, np.isneginf))
            conv.log.counts({"NaN": nan, "Infinity": pos, "-Infinity": neg})
        return arr
    if kind in "iub":
        return np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("="))
    if kind == "M":
        return datetime64(conv, arr)
    # complex, object, str, bytes, timedelta, records: tolist(), then each element
    return arr.tolist()


def datetime64(conv: Converter, arr: Any) -> Any:
    """A datetime64 array orjson can write (RFC 3339 strings), or a list with NaT as None.

    Values outside the range orjson writes (before year 1 or after 9999-12-30T22:00)
    are written as the original did: their ``tolist()`` element (an int, mostly).
    """
    np = conv.np
    unit, count = np.datetime_data(arr.dtype)
    nat = np.isnat(arr)
    bad = _out_of_range(np, arr, unit, count, nat)
    original = arr
    if bad is not None:
        conv.warn(
            f"{int(bad.sum())} datetime64[{unit}] value{'s' if bad.sum() > 1 else ''} "
            "outside orjson's range (years 1-9999) written as tolist() gives them, "
            "as the original"
        )
        arr = np.where(bad, np.zeros((), arr.dtype), arr)  # the epoch, replaced below
    if unit in ("ps", "fs", "as"):
        conv.warn(f"datetime64[{unit}] truncated to microseconds")
        arr = arr.astype("datetime64[ns]")
    elif unit in ("Y", "M", "W", "h", "m", "generic"):
        arr = arr.astype("datetime64[s]")  # units orjson does not take, converted exactly
    nat = np.isnat(arr)
    if unit == "ns" and np.any((arr.view(np.int64) % 1000 != 0) & ~nat):
        conv.warn("datetime64[ns] truncated to microseconds")
    arr = np.ascontiguousarray(arr)
    has_nat = bool(nat.any())
    if not has_nat and bad is None:
        return arr
    if has_nat:
        # orjson writes NaT as a date in 1677: write null instead
        conv.warn(f"{int(nat.sum())} NaT written as null")
    text = numpy_plain(np.where(nat, np.zeros((), arr.dtype), arr))
    out = np.array(text, dtype=object)  # strings only, so the shape is arr's
    out[nat] = None
    if bad is not None:
        for where, value in zip(np.argwhere(bad), original[bad].tolist(), strict=True):
            out[tuple(where)] = value
    result: list[Any] = out.tolist()
    return result


def _out_of_range(np: Any, arr: Any, unit: str, count: int, nat: Any) -> Any:
    """A mask of the values orjson cannot write, or None if there are none."""
    if unit == "Y":
        lo, hi = 1 - 1970, 9999 - 1970
    elif unit == "M":
        lo, hi = (1 - 1970) * 12, (9999 - 1970) * 12 + 11
    elif unit in _DT64_UNITS:
        num, den = _DT64_UNITS[unit]
        lo, hi = -((-_DT64_MIN_S * den) // num), _DT64_MAX_S * den // num
    else:
        return None  # generic: NaT only
    count = max(int(count), 1)
    lo, hi = max(-((-lo) // count), INT_MIN + 1), min(hi // count, 2**63 - 1)
    ints = arr.astype(np.int64)  # NaT is the smallest int64
    bad = ((ints < lo) | (ints > hi)) & ~nat
    return bad if bad.any() else None


def datetime64_scalar(conv: Converter, value: Any) -> Any:
    """orjson's RFC 3339 form (None for NaT), not ``tolist()``'s int/date/datetime.

    Out of orjson's range: ``tolist()``'s value, as the original.
    """
    converted = datetime64(conv, conv.np.array([value]))
    if type(converted) is list:
        return converted[0]
    return numpy_plain(converted)[0]
