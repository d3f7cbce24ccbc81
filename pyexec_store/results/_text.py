"""Small helpers that never raise: names, texts and the failed-document record."""

from __future__ import annotations

import math
from typing import Any


def has(obj: Any, name: str) -> bool:
    """``hasattr``, false also when a hostile ``__getattr__`` raises anything."""
    try:
        return hasattr(obj, name)
    except Exception:
        return False


def type_name(obj: Any) -> str:
    try:
        return str(type(obj).__name__)
    except Exception:
        return "object"


def safe_str(obj: Any) -> str:
    """``str(obj)``, else ``repr(obj)``, else ``"<unprintable T object>"``."""
    try:
        return str(obj)
    except Exception:
        pass
    return safe_repr(obj)


def safe_repr(obj: Any) -> str:
    try:
        return repr(obj)
    except Exception:
        return f"<unprintable {type_name(obj)} object>"


def float_text(value: float) -> str:
    """A float as the stdlib writes it as a key (``json.encoder.floatstr`` with allow_nan)."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def failed_record(obj: Any, error: str) -> dict[str, Any]:
    """The original record for a document that could not be serialized at all."""
    return {
        "_serialization_failed": True,
        "_original_type": type_name(obj),
        "_error": error,
        "_string_representation": safe_str(obj),
    }
