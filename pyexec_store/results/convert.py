"""The policy: how one non-JSON value is converted, and how keys are spelled.

This plays the part of the stdlib json's ``default``: the original executor's
chain of conversions, in its order (``datetime`` -> ``isoformat()``; ``tolist``;
``item``; matplotlib figures; ``to_dict`` with ``index``; ``Path``; sets;
``complex``; ``to_dict``; the string record), plus the documented improvements
(Enum, dataclass, UUID and date in orjson's natural forms), the rule for
credential-carrying objects, and the bound on integer digits.

:func:`classify` is the one list of type checks both walkers (the fast pre-pass
and the exact walker) use to decide what a value is.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

from . import _numpy
from ._figures import figure_record, is_matplotlib_figure
from ._text import float_text, has, safe_str, type_name
from .credentials import NOTE, carries_credentials
from .limits import approx_digits, int_too_long, max_int_digits
from .warnings import WarningLog

# What a value is, for both walkers.
STR, INT, FLOAT, CONST, DICT, LIST, ARRAY, FRAGMENT, OTHER = range(9)
#: The kind of each exact type (the first step of :func:`classify`, inlined by the walkers).
KIND: dict[type, int] = {
    str: STR,
    int: INT,
    float: FLOAT,
    bool: CONST,
    type(None): CONST,
    dict: DICT,
    list: LIST,
    tuple: LIST,
    orjson.Fragment: FRAGMENT,
}


def classify(value: Any, ndarray: type) -> int:
    """What ``value`` is: a JSON type (subclasses too), a numpy array, a fragment, or other.

    Subclasses of ``str``, ``int``, ``float``, ``dict``, ``list`` and ``tuple``
    (IntEnum, namedtuple, OrderedDict, ``numpy.float64``...) are written by
    their base value, as the stdlib writes them; ``OTHER`` goes through
    :meth:`Converter.convert`.
    """
    kind = KIND.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, ndarray):
        return ARRAY
    if isinstance(value, str):
        return STR
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, dict):
        return DICT
    if isinstance(value, (list, tuple)):
        return LIST
    return OTHER


class _Never:
    """Stands in for ``numpy.ndarray`` while numpy is not imported."""


class Converter:
    """Converts values and keys for one encoding run, logging every lossy step."""

    __slots__ = ("_int_digits", "log", "ndarray", "np")

    def __init__(self) -> None:
        np = sys.modules.get("numpy")  # numpy values can only exist if numpy is imported
        self.np: Any = np
        self.ndarray: type = np.ndarray if np is not None else _Never
        self.log = WarningLog()
        self._int_digits = 0

    @property
    def int_digits(self) -> int:
        """The digit bound of integers (read from the interpreter once per run, when needed)."""
        if not self._int_digits:
            self._int_digits = max_int_digits()
        return self._int_digits

    def warn(self, message: str) -> None:
        self.log.warn(message)

    # ---- records -----------------------------------------------------------

    def string_record(self, obj: Any, why: str = "") -> dict[str, Any]:
        """The original's last resort: ``{"value": str(obj), "type", "module", ...}``."""
        record = self._record(obj, safe_str(obj))
        self.warn(f"{record['type']} written as its string{why}")
        return record

    def _record(self, obj: Any, value: str) -> dict[str, Any]:
        try:
            module = str(type(obj).__module__)
        except Exception:
            module = "unknown"
        return {
            "value": value,
            "type": type_name(obj),
            "module": module,
            "_serialization_note": "converted_to_string",
        }

    def credential_record(self, obj: Any) -> dict[str, Any]:
        """The string record of a credential-carrying object: its type name, nothing else."""
        name = type_name(obj)
        record = self._record(obj, name)
        record["_note"] = NOTE
        self.warn(f"{name} may carry credentials; only its type name written")
        return record

    def exact_int(self, value: int) -> int | dict[str, Any]:
        """``value``, or its string record if it has more digits than the bound."""
        if not int_too_long(value, self.int_digits):
            return value
        record = self._record(value, hex(value))  # hex() takes linear time, decimal does not
        self.warn(
            f"int of about {approx_digits(value)} digits (more than {self.int_digits}) "
            "written as a string record of its hexadecimal digits"
        )
        return record

    # ---- the conversion chain --------------------------------------------------

    def convert(self, obj: Any) -> Any:
        """One step of the original ``default`` chain (plus the documented improvements)."""
        try:
            return self._convert(obj)
        except Exception as e:
            return self.string_record(obj, f" ({type_name(e)} while converting it)")

    def _call(self, obj: Any, method: str, null_on: tuple[type[Exception], ...] = ()) -> Any:
        """``obj.method()``; ``null_on`` errors give null (the original fell out of its chain)."""
        try:
            return getattr(obj, method)()
        except null_on as e:
            self.warn(f"{type_name(obj)}.{method}() failed ({safe_str(e)}); written as null")
            return None
        except Exception as e:
            return self.string_record(obj, f" ({method}() raised {type_name(e)})")

    def _convert(self, obj: Any) -> Any:
        np = self.np
        if np is not None and isinstance(obj, np.generic):
            if isinstance(obj, np.datetime64):
                return _numpy.datetime64_scalar(self, obj)
            if isinstance(obj, (np.floating, np.complexfloating)) and obj.dtype.itemsize > (
                8 if isinstance(obj, np.floating) else 16
            ):
                # extended precision: tolist() returns the same type again, forever
                self.warn(f"{obj.dtype} narrowed to 64-bit floats")
                return float(obj) if isinstance(obj, np.floating) else complex(obj)
        if isinstance(obj, datetime):
            return obj.isoformat()
        if carries_credentials(obj):
            return self.credential_record(obj)
        if has(obj, "tolist"):
            return self._call(obj, "tolist", (ValueError, AttributeError))
        if has(obj, "item"):
            return self._call(obj, "item", (ValueError,))
        if is_matplotlib_figure(obj):
            return figure_record(obj)
        if has(obj, "to_dict") and has(obj, "index"):
            return self._call(obj, "to_dict")
        if isinstance(obj, Path):
            return str(obj)
        if isinstance(obj, (set, frozenset)):
            return {"items": list(obj), "_type": type(obj).__name__}
        if isinstance(obj, complex):
            return {"real": obj.real, "imag": obj.imag, "_type": "complex"}
        if has(obj, "to_dict") and callable(obj.to_dict):
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
        return self.string_record(obj)

    # ---- keys ------------------------------------------------------------------

    def key_text(self, key: Any) -> tuple[str, bool]:
        """A key as the stdlib writes it; ``True`` when the original could not write it."""
        if isinstance(key, str):
            return str.__str__(key), False
        if key is True or key is False or key is None:
            return ("true" if key else "false") if key is not None else "null", False
        if isinstance(key, int):
            value = int.__int__(key)
            if int_too_long(value, self.int_digits):
                return hex(value), True
            return int.__repr__(value), False
        if isinstance(key, float):
            return float_text(float.__float__(key)), False
        # keys the original refused (TypeError: keys must be str, int, ...)
        np = self.np
        try:
            if np is not None and isinstance(key, np.datetime64):
                return str(_numpy.datetime64_scalar(self, key)), True
            if isinstance(key, (datetime, date)):
                return str(key.isoformat()), True
            if isinstance(key, enum.Enum):
                return self.key_text(key.value)[0], True
            if np is not None and isinstance(key, np.generic):
                return self.key_text(key.item())[0], True
            if carries_credentials(key):
                return type_name(key), True
        except Exception:
            pass
        return safe_str(key), True

    def convert_keys(self, items: Iterable[tuple[Any, Any]]) -> dict[str, Any]:
        """Keys as JSON text; keys with the same text keep the first's place, the last's value.

        That is what the original's ``json.loads(json.dumps(...))`` round trip kept
        of ``{1: "a", "1": "b"}``: ``{"1": "b"}``.
        """
        out: dict[str, Any] = {}
        odd: dict[str, int] = {}
        n_items = 0
        for key, value in items:
            n_items += 1
            text, refused = self.key_text(key)
            if refused:
                name = type_name(key)
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

    def keys_collide(self, obj: dict[Any, Any]) -> bool:
        """True when the int/bool/None keys of ``obj`` write the same text as another key."""
        texts = [self.key_text(k)[0] for k in obj if type(k) is not str]
        return len(set(texts)) < len(texts) or any(t in obj for t in texts)
