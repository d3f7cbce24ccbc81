"""Results JSON: the ``results.json`` writer, fast, exact and never failing.

``encode_results`` turns whatever a piece of generated code left in ``results``
into one complete JSON document in memory; ``serialize_results_to_file`` writes
that document atomically (temp file and rename locally, one PUT on S3).

How a value is written
----------------------
The output is JSON-equal, once parsed, to what the original executor wrote
(``json.loads(json.dumps(obj, default=...))`` followed by ``json.dump(indent=2)``),
for every value it could write. Non-JSON values go through the same chain of
conversions in the same order: ``datetime`` -> ``isoformat()``; anything with
``tolist`` (numpy arrays and scalars, pandas Series and Index) -> ``tolist()``;
``item``; matplotlib figures -> a summary record; objects with ``to_dict`` and
``index`` (DataFrames) -> ``to_dict()``; ``Path`` -> ``str``; ``set``/``frozenset``
-> ``{"items": [...], "_type": ...}``; ``complex`` -> ``{"real", "imag",
"_type": "complex"}``; other objects with ``to_dict``; and finally a string
record ``{"value", "type", "module", "_serialization_note"}``; a value still
not JSON after 100 conversions (a ``MagicMock``) gets that string record too.
A circular structure gives the ``_serialization_failed`` record for the whole
document. Keys with the same JSON text (``{1: "a", "1": "b"}``) are written
once, with the last value, as the original's round trip kept them.

The deliberate differences are listed in ``docs/serialization.md``: NaN and
Infinity become ``null``; keys and values the original gave up on are written;
Enum, dataclass, UUID, date and numpy datetime64 take orjson's natural forms.

Speed comes from orjson: a short Python pass (:class:`_Encoder`) visits the
containers, converts only what orjson would get wrong or refuse, and leaves
numpy arrays to orjson's native, copy-free numpy support. Whatever that fast
path cannot take (nesting deeper than orjson's limit of 254, a cycle, lone
surrogates, a dict resized by another thread on every retry) goes through an
exact, iterative and slower path instead; if even that fails, a minimal record
is written. Encoding never raises.
"""

from __future__ import annotations

import dataclasses
import decimal
import enum
import functools
import json
import math
import os
import re
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson

__all__ = [
    "EncodedResults",
    "decode_results",
    "encode_results",
    "load_results",
    "make_json_serializable",
    "serialize_results_to_file",
]

#: orjson options used everywhere: numpy natively, int/bool/None keys like the
#: stdlib, and datetimes handed to us so they get the original ``isoformat()``.
_OPTIONS = (
    orjson.OPT_SERIALIZE_NUMPY
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
#: orjson refuses integers outside this range.
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1
#: orjson stops at 254 nested containers; stay below it (conversions count too).
_FAST_DEPTH = 240
#: The exact path is iterative; this only bounds runaway nesting
#: (an object whose ``to_dict`` returns a dict holding a new such object, forever).
_EXACT_DEPTH = 100_000
#: Conversions one value may go through before it is written as its string record
#: (a ``MagicMock``'s ``tolist()`` returns a new mock, forever).
_MAX_CONVERSIONS = 100
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
#: Deeper documents are written compact (indentation would grow quadratically).
_MAX_INDENTED_DEPTH = 1000
#: Fast-path attempts before a result mutated by another thread goes the exact way.
_FAST_ATTEMPTS = 3
#: At most this many warnings are listed; the rest are counted in one line.
_MAX_WARNINGS = 50
_ROOT = "results"

_SURROGATE = re.compile("[\ud800-\udfff]")
_encode_str: Callable[[str], str] = json.encoder.encode_basestring


class EncodedResults(NamedTuple):
    """A complete results document and the lossy conversions made to write it.

    Attributes
    ----------
    data : bytes
        The whole JSON document, UTF-8, ending with a newline.
    warnings : list of str
        One human-readable line per lossy conversion, naming where it happened,
        e.g. ``"results.a.b: NaN written as null"``.
    """

    data: bytes
    warnings: list[str]


class _TooDeep(Exception):
    """The fast path cannot take this nesting depth."""


class _Circular(Exception):
    """A container or conversion refers back to itself."""


class _Runaway(Exception):
    """Containers (made by conversions) nest deeper than ``_EXACT_DEPTH``."""


# --------------------------------------------------------------------------
# small helpers that never raise
# --------------------------------------------------------------------------


def _has(obj: Any, name: str) -> bool:
    # hasattr() lets anything but AttributeError escape from a hostile __getattr__
    try:
        return hasattr(obj, name)
    except Exception:
        return False


def _safe_str(obj: Any) -> str:
    try:
        return str(obj)
    except Exception:
        pass
    try:
        return repr(obj)
    except Exception:
        pass
    return f"<unprintable {_type_name(obj)} object>"


def _type_name(obj: Any) -> str:
    try:
        return str(type(obj).__name__)
    except Exception:
        return "object"


def _int_text(value: int) -> str:
    """Exact decimal digits of an int, also beyond ``sys.get_int_max_str_digits``."""
    try:
        return int.__repr__(value)
    except ValueError:
        # Decimal converts exactly and is not bound by the digit limit
        return str(decimal.Decimal(value))


def _float_text(value: float) -> str:
    # the stdlib's spelling of floats as keys (json.encoder.floatstr with allow_nan)
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _is_matplotlib_figure(obj: Any) -> bool:
    return _has(obj, "savefig") and _has(obj, "get_axes") and _type_name(obj) == "Figure"


def _matplotlib_figure_record(fig: Any) -> dict[str, Any]:
    """The original summary record of a figure: size, dpi, axes, labels, limits, lines."""
    try:
        axes_info = []
        for ax in fig.get_axes():
            ax_info: dict[str, Any] = {
                "title": ax.get_title(),
                "xlabel": ax.get_xlabel(),
                "ylabel": ax.get_ylabel(),
                "xlim": ax.get_xlim(),
                "ylim": ax.get_ylim(),
            }
            lines_data = []
            for line in ax.get_lines():
                xdata, ydata = line.get_xdata(), line.get_ydata()
                lines_data.append(
                    {
                        "xdata": xdata.tolist() if _has(xdata, "tolist") else list(xdata),
                        "ydata": ydata.tolist() if _has(ydata, "tolist") else list(ydata),
                        "label": line.get_label(),
                    }
                )
            ax_info["lines"] = lines_data
            axes_info.append(ax_info)
        return {
            "_type": "matplotlib_figure",
            "figure_size": fig.get_size_inches().tolist(),
            "dpi": fig.get_dpi(),
            "axes": axes_info,
            "_note": "Matplotlib figure serialized with basic plot data",
        }
    except Exception as e:
        return {
            "_type": "matplotlib_figure",
            "_error": f"Failed to serialize figure: {_safe_str(e)}",
            "_fallback": _safe_str(fig),
        }


def _numpy_plain(value: Any) -> Any:
    """What orjson writes for a (prepared) numpy array, as plain Python."""
    return orjson.loads(orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY))


def _failed_record(obj: Any, error: str) -> dict[str, Any]:
    """The original record for a document that could not be serialized at all."""
    return {
        "_serialization_failed": True,
        "_original_type": _type_name(obj),
        "_error": error,
        "_string_representation": _safe_str(obj),
    }


def _format_path(parts: list[Any]) -> str:
    out = [_ROOT]
    for part in parts:
        out.append(f"[{part}]" if type(part) is int else f".{part}")
    return "".join(out)


# --------------------------------------------------------------------------
# the encoder
# --------------------------------------------------------------------------


class _Encoder:
    """One encoding run: converts values, tracks the current path and the warnings."""

    def __init__(self) -> None:
        np = sys.modules.get("numpy")  # numpy values can only exist if numpy is imported
        self._np: Any = np
        self._ndarray: type = np.ndarray if np is not None else _Never
        self.reset()

    def reset(self) -> None:
        self.warnings: list[str] = []
        self._suppressed = 0
        self._path: list[Any] = []  # dict keys (str) and list indices (int) from the root
        self.big_ints = False  # the fast path wrote an integer orjson.loads would round
        self.max_depth = 0  # deepest nesting the exact path met

    # ---- warnings --------------------------------------------------------

    def warn(self, message: str, extra: Any = None) -> None:
        """Record a lossy conversion at the current path (plus ``extra``, a key or index)."""
        if len(self.warnings) >= _MAX_WARNINGS:
            self._suppressed += 1
            return
        parts = self._path if extra is None else [*self._path, extra]
        self.warnings.append(f"{_format_path(parts)}: {message}")

    def all_warnings(self) -> list[str]:
        """The warnings, with a closing count of those not listed."""
        if self._suppressed:
            return [*self.warnings, f"... and {self._suppressed} more lossy conversions"]
        return list(self.warnings)

    def _warn_nonfinite(self, found: list[tuple[Any, float]]) -> None:
        """Warn about the non-finite floats of one container, as ``(key or index, value)``."""
        if len(found) == 1:
            where, value = found[0]
            self.warn(f"{_float_text(value)} written as null", where)
        else:
            self._warn_counts(Counter(_float_text(value) for _, value in found))

    def _warn_counts(self, counts: dict[str, int]) -> None:
        # one line per container, however many NaNs it holds
        counts = {name: n for name, n in counts.items() if n}
        total = sum(counts.values())
        if total == 1:
            self.warn(f"{next(iter(counts))} written as null")
        else:
            detail = ", ".join(f"{n} {name}" for name, n in counts.items())
            self.warn(f"{total} non-finite values written as null ({detail})")

    # ---- keys --------------------------------------------------------------

    def _key_text(self, key: Any) -> tuple[str, bool]:
        """A key as the stdlib writes it; ``True`` when the original could not write it."""
        if isinstance(key, str):
            return str.__str__(key), False
        if key is True or key is False or key is None:
            return ("true" if key else "false") if key is not None else "null", False
        if isinstance(key, int):
            return _int_text(int.__int__(key)), False
        if isinstance(key, float):
            return _float_text(float.__float__(key)), False
        # keys the original refused (TypeError: keys must be str, int, ...)
        np = self._np
        try:
            if np is not None and isinstance(key, np.datetime64):
                return str(self._datetime64_scalar(key)), True
            if isinstance(key, (datetime, date)):
                return str(key.isoformat()), True
            if isinstance(key, enum.Enum):
                return self._key_text(key.value)[0], True
            if np is not None and isinstance(key, np.generic):
                return self._key_text(key.item())[0], True
        except Exception:
            pass
        return _safe_str(key), True

    def _convert_keys(self, items: Any) -> dict[str, Any]:
        """Keys as JSON text; keys with the same text keep the first's place, the last's value.

        That is what the original's ``json.loads(json.dumps(...))`` round trip kept
        of ``{1: "a", "1": "b"}``: ``{"1": "b"}``.
        """
        out: dict[str, Any] = {}
        odd: dict[str, int] = {}
        n_items = 0
        for key, value in items:
            n_items += 1
            text, refused = self._key_text(key)
            if refused:
                name = _type_name(key)
                odd[name] = odd.get(name, 0) + 1
            out[text] = value
        for name, n in odd.items():
            plural = "s" if n > 1 else ""
            self.warn(f"{n} key{plural} of type {name} written as string{plural}")
        if len(out) < n_items:
            dropped = n_items - len(out)
            plural = "s" if dropped > 1 else ""
            self.warn(
                f"{dropped} duplicate key{plural} as JSON text; "
                "the last value kept, as the original"
            )
        return out

    def _keys_collide(self, obj: dict[Any, Any]) -> bool:
        """True when the int/bool/None keys of ``obj`` write the same text as another key."""
        texts = [self._key_text(k)[0] for k in obj if type(k) is not str]
        return len(set(texts)) < len(texts) or any(t in obj for t in texts)

    # ---- single conversion steps (shared by both paths) ---------------------

    def _string_record(self, obj: Any, why: str = "") -> dict[str, Any]:
        try:
            module = str(getattr(type(obj), "__module__", "unknown"))
        except Exception:
            module = "unknown"
        record = {
            "value": _safe_str(obj),
            "type": _type_name(obj),
            "module": module,
            "_serialization_note": "converted_to_string",
        }
        self.warn(f"{record['type']} written as its string{why}")
        return record

    def convert(self, obj: Any) -> Any:
        """One step of the original ``default`` chain (plus the documented improvements)."""
        try:
            return self._convert(obj)
        except Exception as e:
            return self._string_record(obj, f" ({_type_name(e)} while converting it)")

    def _call(self, obj: Any, method: str, null_on: tuple[type[Exception], ...] = ()) -> Any:
        """``obj.method()``; ``null_on`` errors give null (the original fell out of its chain)."""
        try:
            return getattr(obj, method)()
        except null_on as e:
            self.warn(f"{_type_name(obj)}.{method}() failed ({_safe_str(e)}); written as null")
            return None
        except Exception as e:
            return self._string_record(obj, f" ({method}() raised {_type_name(e)})")

    def _convert(self, obj: Any) -> Any:
        np = self._np
        if np is not None and isinstance(obj, np.generic):
            if isinstance(obj, np.datetime64):
                return self._datetime64_scalar(obj)
            if isinstance(obj, (np.floating, np.complexfloating)) and obj.dtype.itemsize > (
                8 if isinstance(obj, np.floating) else 16
            ):
                # extended precision: tolist() returns the same type again, forever
                self.warn(f"{obj.dtype} narrowed to 64-bit floats")
                return float(obj) if isinstance(obj, np.floating) else complex(obj)
        if isinstance(obj, datetime):
            return obj.isoformat()
        if _has(obj, "tolist"):
            return self._call(obj, "tolist", (ValueError, AttributeError))
        if _has(obj, "item"):
            return self._call(obj, "item", (ValueError,))
        if _is_matplotlib_figure(obj):
            return _matplotlib_figure_record(obj)
        if _has(obj, "to_dict") and _has(obj, "index"):
            return self._call(obj, "to_dict")
        if isinstance(obj, Path):
            return str(obj)
        if isinstance(obj, (set, frozenset)):
            return {"items": list(obj), "_type": type(obj).__name__}
        if isinstance(obj, complex):
            return {"real": obj.real, "imag": obj.imag, "_type": "complex"}
        if _has(obj, "to_dict") and callable(obj.to_dict):
            return self._call(obj, "to_dict")
        # improvements over the string record: orjson's natural forms
        if isinstance(obj, enum.Enum):
            return obj.value
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            # as orjson writes dataclasses: fields in order, "_private" ones left out
            return {
                f.name: getattr(obj, f.name)
                for f in dataclasses.fields(obj)
                if not f.name.startswith("_")
            }
        if isinstance(obj, uuid.UUID):
            return str(obj)
        if isinstance(obj, date):
            return obj.isoformat()
        return self._string_record(obj)

    # ---- numpy arrays ---------------------------------------------------------

    def _prepare_array(self, arr: Any) -> Any:
        """An array orjson writes exactly as ``tolist()`` would, or a Python value to walk on."""
        try:
            return self._prepare_array_unsafe(arr)
        except Exception as e:
            self.warn(f"array could not be converted as such ({_type_name(e)}); used tolist()")
        try:
            return arr.tolist()
        except Exception:
            return self._string_record(arr, " (tolist() failed)")

    def _prepare_array_unsafe(self, arr: Any) -> Any:
        np = self._np
        if type(arr) is not np.ndarray:
            return arr.tolist()  # matrix, masked array: their own tolist(), as the original
        if arr.ndim == 0:
            return arr[()]  # the scalar (or the object) it holds
        kind = arr.dtype.kind
        if kind == "f":
            if arr.dtype.itemsize > 8:
                self.warn(f"{arr.dtype} array narrowed to float64")
            # float16/32 are written by tolist() as the float64 they widen to
            arr = np.ascontiguousarray(arr, dtype=np.float64)
            if not np.isfinite(arr).all():  # orjson writes them as null
                nan, pos, neg = (int(f(arr).sum()) for f in (np.isnan, np.isposinf, np.isneginf))
                self._warn_counts({"NaN": nan, "Infinity": pos, "-Infinity": neg})
            return arr
        if kind in "iub":
            return np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("="))
        if kind == "M":
            return self._datetime64(arr)
        # complex, object, str, bytes, timedelta, records: tolist(), then each element
        return arr.tolist()

    def _datetime64(self, arr: Any) -> Any:
        """A datetime64 array orjson can write (RFC 3339 strings), or a list with NaT as None.

        Values outside the range orjson writes (before year 1 or after 9999-12-30T22:00)
        are written as the original did: their ``tolist()`` element (an int, mostly).
        """
        np = self._np
        unit, count = np.datetime_data(arr.dtype)
        nat = np.isnat(arr)
        bad = self._datetime64_out_of_range(arr, unit, count, nat)
        original = arr
        if bad is not None:
            self.warn(
                f"{int(bad.sum())} datetime64[{unit}] value{'s' if bad.sum() > 1 else ''} "
                "outside orjson's range (years 1-9999) written as tolist() gives them, "
                "as the original"
            )
            arr = np.where(bad, np.zeros((), arr.dtype), arr)  # the epoch, replaced below
        if unit in ("ps", "fs", "as"):
            self.warn(f"datetime64[{unit}] truncated to microseconds")
            arr = arr.astype("datetime64[ns]")
        elif unit in ("Y", "M", "W", "h", "m", "generic"):
            arr = arr.astype("datetime64[s]")  # units orjson does not take, converted exactly
        nat = np.isnat(arr)
        if unit == "ns" and np.any((arr.view(np.int64) % 1000 != 0) & ~nat):
            self.warn("datetime64[ns] truncated to microseconds")
        arr = np.ascontiguousarray(arr)
        has_nat = bool(nat.any())
        if not has_nat and bad is None:
            return arr
        if has_nat:
            # orjson writes NaT as a date in 1677: write null instead
            self.warn(f"{int(nat.sum())} NaT written as null")
        text = _numpy_plain(np.where(nat, np.zeros((), arr.dtype), arr))
        out = np.array(text, dtype=object)  # strings only, so the shape is arr's
        out[nat] = None
        if bad is not None:
            for where, value in zip(np.argwhere(bad), original[bad].tolist(), strict=True):
                out[tuple(where)] = value
        result: list[Any] = out.tolist()
        return result

    def _datetime64_out_of_range(self, arr: Any, unit: str, count: int, nat: Any) -> Any:
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
        lo, hi = max(-((-lo) // count), _INT_MIN + 1), min(hi // count, 2**63 - 1)
        ints = arr.astype(self._np.int64)  # NaT is the smallest int64
        bad = ((ints < lo) | (ints > hi)) & ~nat
        return bad if bad.any() else None

    def _datetime64_scalar(self, value: Any) -> Any:
        # improvement: orjson's RFC 3339 form (None for NaT), not tolist()'s int/date/datetime;
        # out of orjson's range: tolist()'s value, as the original
        converted = self._datetime64(self._np.array([value]))
        if type(converted) is list:
            return converted[0]
        return _numpy_plain(converted)[0]

    # ---- the fast path: a recursive pass, then orjson -------------------------

    def fast(self, obj: Any, depth: int = 0, conversions: int = 0) -> Any:
        """``obj`` with everything orjson would refuse or write differently replaced.

        Containers are copied only where something inside them changed.
        """
        t = type(obj)
        if t is dict or t is list or t is tuple:
            return self._fast_container(obj, depth)
        if t is str or t is bool or obj is None:
            return obj
        if t is int:
            if _INT_MIN <= obj <= _INT_MAX:
                return obj
            self.big_ints = True  # orjson.loads would round it
            return orjson.Fragment(_int_text(obj))
        if t is float:
            if obj - obj != 0:  # NaN or +-Infinity; orjson writes null
                self._warn_nonfinite([(None, obj)])
            return obj
        return self._fast_other(obj, depth, conversions)

    def _fast_container(self, obj: Any, depth: int) -> Any:
        if depth >= _FAST_DEPTH:
            raise _TooDeep
        if len(obj) >= _BULK_MIN and _needs_nothing(obj):
            return obj
        is_dict = type(obj) is dict
        out: Any = None
        odd_keys = False
        plain_keys = False  # int, bool or None keys, written by orjson unless they collide
        nonfinite: list[tuple[Any, float]] = []
        path = self._path
        for k, v in obj.items() if is_dict else enumerate(obj):
            if is_dict and type(k) is not str:
                tk = type(k)
                if not ((tk is int and _INT_MIN <= k <= _INT_MAX) or tk is bool or k is None):
                    odd_keys = True  # float and exotic keys: converted below
                else:
                    plain_keys = True
            tv = type(v)
            if tv is str or tv is bool or v is None:
                continue
            if tv is float:
                if v - v != 0:  # NaN or +-Infinity; orjson writes null
                    nonfinite.append((k if not is_dict or type(k) is str else _safe_str(k), v))
                continue
            if tv is int and _INT_MIN <= v <= _INT_MAX:
                continue
            path.append(k if not is_dict or type(k) is str else _safe_str(k))
            new = self.fast(v, depth + 1)
            path.pop()
            if new is not v:
                if out is None:
                    out = dict(obj) if is_dict else list(obj)
                out[k] = new
        if nonfinite:
            self._warn_nonfinite(nonfinite)
        result = obj if out is None else out
        if not odd_keys and plain_keys and self._keys_collide(result):
            odd_keys = True  # {1: "a", "1": "b"}: one key, the last value, as the original
        return self._convert_keys(result.items()) if odd_keys else result

    def _fast_other(self, obj: Any, depth: int, conversions: int = 0) -> Any:
        if depth >= _FAST_DEPTH or conversions >= _MAX_CONVERSIONS:
            raise _TooDeep  # the exact path decides: circular, or a runaway conversion
        if isinstance(obj, self._ndarray):
            value = self._prepare_array(obj)
            if type(value) is self._ndarray:
                return value
            return self.fast(value, depth + 1, conversions + 1)
        if type(obj) is orjson.Fragment:
            try:  # already JSON: written verbatim, as orjson does, once it parses
                orjson.loads(orjson.dumps(obj))
                return obj
            except orjson.JSONDecodeError:
                return self._string_record(obj, " (invalid orjson.Fragment)")
        # subclasses of JSON types: the stdlib writes their base value without default
        if isinstance(obj, str):
            return obj  # orjson writes str subclasses by value too
        if isinstance(obj, int):
            return self.fast(int.__int__(obj), depth, conversions)
        if isinstance(obj, float):
            return self.fast(float.__float__(obj), depth, conversions)
        if isinstance(obj, dict):
            return self._fast_container(dict(obj.items()), depth)
        if isinstance(obj, (list, tuple)):
            return self._fast_container(list(_base_iter(obj)), depth)
        return self.fast(self.convert(obj), depth + 1, conversions + 1)

    def default(self, obj: Any) -> Any:
        """orjson's ``default``: only reached if a value changed after the fast pass."""
        return self.fast(obj)

    # ---- the exact path: iterative, cycle-aware, produces plain Python ---------

    def plain(self, root: Any) -> Any:
        """``root`` as plain JSON-able Python, at any depth; cycles give the failed record."""
        self.reset()
        try:
            return self._plain(root)
        except _Circular:
            self.reset()
            self.warn("circular reference; the whole document is a _serialization_failed record")
            return _failed_record(root, "Circular reference detected")
        except _Runaway:
            self.reset()
            self.warn(f"nesting deeper than {_EXACT_DEPTH} levels; document not serialized")
            return _failed_record(root, f"nesting deeper than {_EXACT_DEPTH} levels")

    def _resolve(self, value: Any, active: set[int]) -> tuple[int, Any, list[Any]]:
        """Convert ``value`` until it is a leaf, a non-finite float, a dict or a list.

        Returns the kind (``_LEAF``, ``_NONFINITE``, ``_DICT``, ``_LIST``), the
        leaf value or the container's items, and the objects met on the way
        (kept alive, and marked active while the walk is below them). A value
        still not plain after ``_MAX_CONVERSIONS`` conversions is written as
        its string record.
        """
        start = value
        chain: list[Any] = []
        seen: set[int] = set()  # ids of chain (alive while chain is), for cycles
        while True:
            t = type(value)
            if t is str or t is bool or value is None or t is int:
                return _LEAF, value, chain
            if t is float:
                return (_LEAF if value - value == 0 else _NONFINITE), value, chain
            if id(value) in active or id(value) in seen:
                raise _Circular
            if t is orjson.Fragment:
                try:
                    value = orjson.loads(orjson.dumps(value))
                except orjson.JSONDecodeError:
                    return _LEAF, self._string_record(value, " (invalid orjson.Fragment)"), chain
                return _LEAF, value, chain  # parsed JSON is plain already
            if isinstance(value, str):
                return _LEAF, str.__str__(value), chain
            if isinstance(value, int):
                return _LEAF, int.__int__(value), chain
            if isinstance(value, float):
                value = float.__float__(value)
                continue
            if isinstance(value, dict):
                chain.append(value)
                seen.add(id(value))
                items = self._convert_keys(_snapshot(value.items)).items()
                return _DICT, list(items), chain
            if isinstance(value, (list, tuple)):
                chain.append(value)
                seen.add(id(value))
                return _LIST, _snapshot(functools.partial(_base_iter, value)), chain
            if len(chain) >= _MAX_CONVERSIONS:
                why = f" (still not JSON after {_MAX_CONVERSIONS} conversions)"
                return _LEAF, self._string_record(start, why), []
            chain.append(value)
            seen.add(id(value))
            if isinstance(value, self._ndarray):
                value = self._prepare_array(value)
                if type(value) is self._ndarray:
                    value = _numpy_plain(value)  # what the fast path writes, as plain Python
            else:
                value = self.convert(value)

    def _plain(self, root: Any) -> Any:
        active: set[int] = set()
        kind, payload, chain = self._resolve(root, active)
        if kind == _NONFINITE:
            self._warn_nonfinite([(None, payload)])
            return None
        if kind == _LEAF:
            return payload
        # frame: [items iterator, output container, is_dict, chain, non-finite values found]
        stack: list[list[Any]] = []

        def push(kind: int, payload: list[Any], chain: list[Any]) -> Any:
            out: Any = {} if kind == _DICT else []
            for c in chain:
                active.add(id(c))
            stack.append([iter(payload), out, kind == _DICT, chain, []])
            self.max_depth = max(self.max_depth, len(stack))
            return out

        result = push(kind, payload, chain)
        path = self._path
        while stack:
            frame = stack[-1]
            out, is_dict = frame[1], frame[2]
            item = next(frame[0], _END)
            if item is _END:
                if frame[4]:
                    self._warn_nonfinite(frame[4])
                stack.pop()
                for c in frame[3]:
                    active.discard(id(c))
                if path:
                    path.pop()
                continue
            if is_dict:
                where, value = item
            else:
                where, value = len(out), item
            path.append(where)
            kind, payload, chain = self._resolve(value, active)
            if kind in (_LEAF, _NONFINITE):
                path.pop()
                if kind == _NONFINITE:
                    frame[4].append((where, payload))
                    payload = None
                child = payload
            else:
                if len(stack) >= _EXACT_DEPTH:
                    raise _Runaway
                child = push(kind, payload, chain)  # its path entry stays until it closes
            if is_dict:
                out[where] = child
            else:
                out.append(child)
        return result


_LEAF, _NONFINITE, _DICT, _LIST = range(4)


_FLAT_SCALARS = frozenset({str, bool, type(None), int, float})
_CONTAINERS = frozenset({dict, list, tuple})
#: Containers this large are first checked in bulk, at C speed.
_BULK_MIN = 64
#: orjson refusing everything that is not plain JSON (so that it raises instead).
_STRICT = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def _needs_nothing(container: Any) -> bool:
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
    return bool(min(ints) >= _INT_MIN and max(ints) <= _INT_MAX)


class _Never:
    """Stands in for ``numpy.ndarray`` while numpy is not imported."""


_END: Any = object()


def _base_iter(seq: list[Any] | tuple[Any, ...]) -> Iterator[Any]:
    # the stdlib reads list/tuple subclasses by their storage, not their __iter__
    return list.__iter__(seq) if isinstance(seq, list) else tuple.__iter__(seq)


def _snapshot(items: Callable[[], Any]) -> list[Any]:
    """``list(items())``, retried if another thread resizes the container meanwhile."""
    for _ in range(10):
        try:
            return list(items())
        except RuntimeError:
            continue
    return []


# --------------------------------------------------------------------------
# writing JSON text for the exact path
# --------------------------------------------------------------------------


def _dump_plain(root: Any, indent: int | None) -> bytes:
    """Plain Python (from :meth:`_Encoder.plain`) as JSON text, iteratively.

    Same layout as ``json.dumps(indent=indent)`` (and orjson's for 2 or None),
    at any depth and with integers of any size.
    """
    parts: list[str] = []
    add = parts.append
    pad = None if indent is None else " " * max(indent, 0)
    colon = ":" if pad is None else ": "

    def scalar(v: Any) -> str:
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if type(v) is str:
            return _encode_str(v)
        if type(v) is int:
            return _int_text(v)
        return float.__repr__(v)

    stack: list[tuple[Iterator[Any], bool]] = []

    def open_(v: Any) -> None:
        if type(v) is dict:
            if v:
                add("{")
                stack.append((iter(v.items()), True))
            else:
                add("{}")
        elif v:
            add("[")
            stack.append((iter(v), False))
        else:
            add("[]")

    if type(root) is dict or type(root) is list:
        open_(root)
    else:
        add(scalar(root))
    first = True
    while stack:
        it, is_dict = stack[-1]
        item = next(it, _END)
        if item is _END:
            stack.pop()
            if pad is not None:
                add("\n" + pad * len(stack))
            add("}" if is_dict else "]")
            first = False
            continue
        if not first:
            add(",")
        if pad is not None:
            add("\n" + pad * len(stack))
        if is_dict:
            key, value = item
            add(_encode_str(key))
            add(colon)
        else:
            value = item
        if type(value) is dict or type(value) is list:
            open_(value)
            first = bool(value)
        else:
            add(scalar(value))
            first = False
    add("\n")
    text = "".join(parts)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # lone surrogates can only sit inside strings: write them as \\u escapes
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode("utf-8")


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------


def _check_indent(indent: Any) -> int | None:
    if indent is None or (isinstance(indent, int) and not isinstance(indent, bool)):
        return indent
    from .errors import ConfigTypeError

    raise ConfigTypeError(f"indent must be an int or None, not {type(indent).__name__}")


def _fast_dumps(enc: _Encoder, obj: Any, option: int) -> bytes | None:
    """orjson's document after the fast pass, or None if only the exact path can write it."""
    for _ in range(_FAST_ATTEMPTS):
        enc.reset()
        try:
            return orjson.dumps(enc.fast(obj), default=enc.default, option=option)
        except (RuntimeError, orjson.JSONEncodeError) as e:
            # "dictionary changed size during iteration" (another thread): try again
            if isinstance(e, RecursionError) or "changed" not in str(e):
                return None
        except Exception:  # _TooDeep, lone surrogates, anything else
            return None
    return None


def _fast_loads(enc: _Encoder, data: bytes) -> Any:
    # orjson.loads rounds integers beyond 64 bits: parse those documents exactly
    return _loads_exact(data) if enc.big_ints else orjson.loads(data)


def _encode(enc: _Encoder, results: Any, indent: int | None) -> bytes:
    option = _OPTIONS | orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if indent == 2 else 0)
    data = _fast_dumps(enc, results, option)
    if data is not None:
        if indent is None or indent == 2:
            return data
        # orjson only indents by 2: lay the finished document out again
        return _dump_plain(_fast_loads(enc, data), indent)
    plain = enc.plain(results)
    if indent is not None and enc.max_depth > _MAX_INDENTED_DEPTH:
        # indentation grows with the square of the depth: write such documents compact
        enc.warn(f"nesting {enc.max_depth} levels deep; written without indentation")
        indent = None
    return _dump_plain(plain, indent)


def encode_results(results: Any, *, indent: int | None = 2) -> EncodedResults:
    """Encode ``results`` as one complete JSON document, in memory.

    Parameters
    ----------
    results : Any
        Anything: JSON types, numpy arrays and scalars, pandas objects,
        matplotlib figures, sets, complex numbers, paths, datetimes, objects
        with ``to_dict``, or arbitrary objects (written as string records).
    indent : int or None, default 2
        Spaces per level; ``None`` writes compact JSON. 2 and ``None`` are
        written by orjson directly; other widths as ``json.dumps(indent=n)`` lays them out.

    Returns
    -------
    EncodedResults
        ``data`` (UTF-8 JSON ending in a newline) and ``warnings`` (every lossy
        conversion, e.g. ``"results.a.b: NaN written as null"``).

    Raises
    ------
    pyexec_store.ConfigTypeError
        Only if ``indent`` is neither an int nor None. Nothing in ``results``
        makes this function raise.

    Examples
    --------
    >>> encode_results({"x": float("nan")}, indent=None)
    EncodedResults(data=b'{"x":null}\\n', warnings=['results.x: NaN written as null'])
    """
    indent = _check_indent(indent)
    enc = _Encoder()
    try:
        data = _encode(enc, results, indent)
    except Exception as e:  # last resort: the original's failure record, always writable
        enc.reset()
        enc.warn(f"could not be serialized ({_type_name(e)}: {_safe_str(e)})")
        record = _failed_record(results, _safe_str(e))
        option = orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if indent is not None else 0)
        data = orjson.dumps(record, option=option)
    return EncodedResults(data, enc.all_warnings())


def make_json_serializable(obj: Any) -> Any:
    """Convert ``obj`` to plain JSON-able Python: dicts, lists, str, int, float, bool, None.

    The result equals what the original function returned (a stdlib round trip
    through its ``default`` chain), except for the documented improvements:
    NaN and Infinity become ``None``, and values it gave up on are converted.

    Parameters
    ----------
    obj : Any
        Any value; see :func:`encode_results`.

    Returns
    -------
    Any
        A structure that ``json.dumps(..., allow_nan=False)`` accepts.

    Examples
    --------
    >>> import numpy as np
    >>> make_json_serializable({"a": np.array([1, 2]), "s": {3}})
    {'a': [1, 2], 's': {'items': [3], '_type': 'set'}}
    """
    enc = _Encoder()
    try:
        data = _fast_dumps(enc, obj, _OPTIONS)
        return enc.plain(obj) if data is None else _fast_loads(enc, data)
    except Exception as e:
        return _failed_record(obj, _safe_str(e))


def serialize_results_to_file(
    results: Any, file_path: str | os.PathLike[str], *, indent: int | None = 2
) -> dict[str, Any]:
    """Encode ``results`` and write them atomically to ``file_path``.

    The document is encoded completely in memory first, then written in one
    atomic operation (temp file and rename locally, a single PUT on S3), so a
    reader never sees a partial file.

    Parameters
    ----------
    results : Any
        Anything; see :func:`encode_results`.
    file_path : str or os.PathLike
        A local path or any fsspec URL (``s3://bucket/key``, ``memory://...``).
    indent : int or None, default 2
        Spaces per level, ``None`` for compact JSON.

    Returns
    -------
    dict
        The original metadata: ``success``, ``file_path``, ``error`` and
        ``serialization_warnings`` (every lossy conversion made); when the
        write fails also ``error_type`` and ``fallback_saved`` or
        ``fallback_error`` (a minimal ``_serialization_failed`` document is tried).
    """
    metadata: dict[str, Any] = {
        "success": False,
        "file_path": file_path,
        "error": None,
        "serialization_warnings": [],
    }
    try:
        encoded = encode_results(results, indent=indent)
        metadata["serialization_warnings"] = encoded.warnings
        from .backends import write_file_url

        write_file_url(file_path, encoded.data, content_type="application/json")
        metadata["success"] = True
        return metadata
    except Exception as e:
        metadata["error"] = _safe_str(e)
        metadata["error_type"] = _type_name(e)
        try:
            from .backends import write_file_url

            fallback = {
                "_serialization_failed": True,
                "_original_error": _safe_str(e),
                "_fallback_representation": _safe_str(results),
            }
            write_file_url(file_path, orjson.dumps(fallback, option=orjson.OPT_INDENT_2))
            metadata["fallback_saved"] = True
        except Exception as fallback_error:
            metadata["fallback_error"] = _safe_str(fallback_error)
        return metadata


def decode_results(data: bytes | str) -> Any:
    """Parse a results document; integers of any size stay exact, at any depth.

    Parameters
    ----------
    data : bytes or str
        A document written by :func:`encode_results`.

    Returns
    -------
    Any
        The parsed value.

    Raises
    ------
    orjson.JSONDecodeError
        If ``data`` is not valid JSON (a ``ValueError``).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    big_ints = _BIG_INT.search(raw) is not None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        # orjson may refuse an int too large for a float, and nesting beyond 1024
        # levels (which encode_results writes): parse those exactly and iteratively
        if not big_ints and "depth" not in str(e):
            raise
        try:
            return _loads_exact(data)
        except ValueError:
            raise e from None
    if not big_ints:
        return value
    return _loads_exact(data)


#: Integers orjson.loads may round (beyond 64 bits), spotted in the text; a few
#: that it would not (19 or 20 digits within 64 bits) are parsed exactly too.
_BIG_INT = re.compile(rb"(?<![\d.eE+-])(?:-\d{19}|-?\d{20,})(?![\d.eE])")


def _loads_exact(data: bytes | str) -> Any:
    """``json.loads``, with integers of any size exact (also beyond the int digit limit).

    Documents nested deeper than the recursion limit are parsed iteratively.
    """
    try:
        return json.loads(data, parse_int=_exact_int)
    except RecursionError:
        return _loads_iterative(data)


_WS = re.compile(r"[ \t\n\r]*")
#: The stdlib's (C) string scanner: ``(text after the opening quote, end)``.
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_CONSTANTS = {
    "null": None,
    "true": True,
    "false": False,
    "NaN": math.nan,
    "Infinity": math.inf,
    "-Infinity": -math.inf,
}


def _loads_iterative(data: bytes | str) -> Any:
    """``json.loads`` (with exact integers) without recursion: any depth parses.

    Raises ``orjson.JSONDecodeError`` (a ``ValueError``) on invalid JSON.
    """
    if isinstance(data, (bytes, bytearray)):
        s = bytes(data).decode(json.detect_encoding(data), "surrogatepass")
    else:
        s = data
    n = len(s)

    def skip(at: int) -> int:  # past any whitespace
        m = _WS.match(s, at)
        return at if m is None else m.end()

    def fail(message: str, at: int) -> orjson.JSONDecodeError:
        return orjson.JSONDecodeError(message, s, min(at, n))

    def key_at(at: int) -> tuple[str, int]:
        if s.startswith('"', at):
            key, at = _scanstring(s, at + 1)
            at = skip(at)
            if s.startswith(":", at):
                return key, skip(at + 1)
            raise fail("Expecting ':' delimiter", at)
        raise fail("Expecting property name enclosed in double quotes", at)

    # open containers, each with its pending key (None for lists)
    stack: list[tuple[Any, list[str | None]]] = []
    pos = skip(0)
    while True:
        value: Any
        c = s[pos : pos + 1]
        if c == "{" or c == "[":
            pos = skip(pos + 1)
            if s.startswith("}" if c == "{" else "]", pos):
                value, pos = ({} if c == "{" else []), pos + 1
            elif c == "{":
                key, pos = key_at(pos)
                stack.append(({}, [key]))
                continue
            else:
                stack.append(([], [None]))
                continue
        elif c == '"':
            value, pos = _scanstring(s, pos + 1)
        else:
            m = _NUMBER.match(s, pos)
            if m is not None:
                integer, frac, exp = m.groups()
                value = float(m.group()) if frac or exp else _exact_int(integer)
                pos = m.end()
            else:
                for word, constant in _CONSTANTS.items():
                    if s.startswith(word, pos):
                        value, pos = constant, pos + len(word)
                        break
                else:
                    raise fail("Expecting value", pos)
        # a value is complete: store it, closing the containers it completes
        while True:
            pos = skip(pos)
            if not stack:
                if pos != n:
                    raise fail("Extra data", pos)
                return value
            container, pending = stack[-1]
            is_dict = type(container) is dict
            if is_dict:
                container[pending[0]] = value
            else:
                container.append(value)
            c = s[pos : pos + 1]
            if c == ",":
                pos = skip(pos + 1)
                if is_dict:
                    pending[0], pos = key_at(pos)
                break
            if c == ("}" if is_dict else "]"):
                stack.pop()
                value, pos = container, pos + 1
                continue
            raise fail(f"Expecting ',' delimiter or '{'}' if is_dict else ']'}'", pos)


def _exact_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # beyond sys.get_int_max_str_digits; Decimal has no such limit
        return int(decimal.Decimal(text))


def load_results(path_or_url: str | os.PathLike[str], **storage_options: Any) -> Any:
    """Read and parse a results document from a local path or fsspec URL.

    Parameters
    ----------
    path_or_url : str or os.PathLike
        Where the document is, e.g. ``".../results.json"`` or ``"s3://b/k/results.json"``.
    **storage_options
        Passed to the backend (e.g. ``endpoint_url`` for S3).

    Returns
    -------
    Any
        The parsed document (see :func:`decode_results`).

    Raises
    ------
    pyexec_store.StorageError
        If the document cannot be read.
    """
    from .backends import read_file_url

    return decode_results(read_file_url(path_or_url, **storage_options))
