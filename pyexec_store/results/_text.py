"""Small helpers that never raise: names, texts and the failed-document record."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

#: ``_string_representation`` of a failed document is cut after this many characters.
REPR_LIMIT = 100_000


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


def bounded_str(obj: Any, limit: int = REPR_LIMIT) -> str:
    """``str(obj)``, cut after ``limit`` characters, in time and memory bounded by ``limit``.

    Dicts, lists, tuples, sets and frozensets (exactly those types) are laid
    out here, piece by piece, exactly as ``str()`` lays them out (``[...]`` for a
    list inside itself), so a structure sharing its parts exponentially
    (``a = [a, a]``, thirty times) costs ``limit`` characters, not 2**30. Other
    values inside them are ``repr()``'d as ``str()`` would.
    """
    if type(obj) not in _LAYOUT:
        return _cut(safe_str(obj), limit)
    parts: list[str] = []
    length = 0
    for piece in _pieces(obj):
        parts.append(piece)
        length += len(piece)
        if length > limit:
            return _cut("".join(parts), limit)
    return "".join(parts)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


#: type: (opening, closing, inside itself, empty)
_LAYOUT: dict[type, tuple[str, str, str, str]] = {
    list: ("[", "]", "[...]", "[]"),
    tuple: ("(", ")", "(...)", "()"),
    dict: ("{", "}", "{...}", "{}"),
    set: ("{", "}", "set(...)", "set()"),
    frozenset: ("frozenset({", "})", "frozenset(...)", "frozenset()"),
}


def _pieces(root: Any) -> Iterator[str]:
    """The text of ``str(root)`` in pieces, iteratively (any depth)."""
    active: set[int] = set()
    # each frame: (container, iterator of its items, its closing text)
    stack: list[tuple[Any, Iterator[Any], str]] = []

    def open_(value: Any) -> str:
        t = type(value)
        opening, closing, again, empty = _LAYOUT[t]
        if id(value) in active:
            return again
        if not value:
            return empty
        active.add(id(value))
        items: Iterator[Any] = iter(value.items()) if t is dict else iter(value)
        if t is tuple and len(value) == 1:
            closing = ",)"
        stack.append((value, items, closing))
        return opening

    yield open_(root)
    first = True
    while stack:
        container, items, closing = stack[-1]
        item = next(items, _END)
        if item is _END:
            stack.pop()
            active.discard(id(container))
            yield closing
            first = False
            continue
        if not first:
            yield ", "
        first = False
        if type(container) is dict:
            key, item = item
            yield _element(key)
            yield ": "
        if type(item) in _LAYOUT:
            text = open_(item)
            first = text in ("(", "[", "{", "frozenset({")
            yield text
        else:
            yield _element(item)


def _element(value: Any) -> str:
    return safe_repr(value)


_END: Any = object()


def failed_record(obj: Any, error: str) -> dict[str, Any]:
    """The original record for a document that could not be serialized at all."""
    return {
        "_serialization_failed": True,
        "_original_type": type_name(obj),
        "_error": error,
        "_string_representation": bounded_str(obj),
    }
