"""JSON text at any depth: the exact path's writer, and an exact-integer parser.

:func:`dump_plain` lays plain Python out exactly as ``json.dumps(indent=n)``
does (and as orjson does for 2 and None), iteratively. :func:`loads_exact`
parses like ``json.loads`` with integers exact up to the digit bound
(:func:`~.limits.max_int_digits`), iteratively beyond the recursion limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from .limits import BoundError, max_int_digits

_SURROGATE = re.compile("[\ud800-\udfff]")
_encode_str: Callable[[str], str] = json.encoder.encode_basestring
_END: Any = object()


def dump_plain(root: Any, indent: int | None) -> bytes:
    """Plain Python (dicts, lists, str, int, float, bool, None) as JSON text, iteratively.

    Same layout as ``json.dumps(indent=indent)`` (and orjson's for 2 or None),
    at any depth. The walkers hand it integers within the digit bound only.
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
            return int.__repr__(v)
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


def int_parser(bound: int) -> Callable[[str], int]:
    """``int`` for JSON integer text, refusing more than ``bound`` digits (ValueError)."""

    def parse(text: str) -> int:
        digits = len(text) - text.startswith("-")
        if digits > bound:
            raise BoundError(
                f"results JSON holds an integer of {digits} digits, more than the "
                f"{bound} read exactly (sys.get_int_max_str_digits(), or 50000 if unlimited)"
            )
        return int(text)

    return parse


def loads_exact(data: bytes | str) -> Any:
    """``json.loads``, integers exact up to the digit bound, at any depth.

    Documents nested deeper than the recursion limit are parsed iteratively.
    Raises ``ValueError`` (``orjson.JSONDecodeError`` when iterative) on invalid JSON.
    """
    parse_int = int_parser(max_int_digits())
    try:
        return json.loads(data, parse_int=parse_int, parse_constant=_refuse_constant)
    except RecursionError:
        return _loads_iterative(data, parse_int)


def _refuse_constant(word: str) -> Any:
    # json.loads takes NaN and Infinity; JSON (RFC 8259), orjson and this library do not.
    raise ValueError(f"{word} is not valid JSON (RFC 8259)")


_WS = re.compile(r"[ \t\n\r]*")
#: The stdlib's (C) string scanner: ``(text after the opening quote, end)``.
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_CONSTANTS = {
    "null": None,
    "true": True,
    "false": False,
}


def _loads_iterative(data: bytes | str, parse_int: Callable[[str], int]) -> Any:
    """``json.loads`` without recursion: any depth parses.

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
                value = float(m.group()) if frac or exp else parse_int(integer)
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
