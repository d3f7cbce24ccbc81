"""The warnings log of one encoding run: one line per lossy conversion, naming where.

Every line is one line: control characters (newlines, carriage returns, ESC,
other C0 and C1 controls, Unicode line separators) and lone surrogates coming
from keys or from error texts are written as ``repr``-style escapes, so a log
of the warnings cannot be forged by a key such as ``"x\\nERROR: ..."``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from ._text import float_text

#: At most this many warnings are listed; the rest are counted in one line.
MAX_WARNINGS = 50
ROOT = "results"

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` with its control characters escaped as ``repr()`` escapes them."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def format_path(parts: list[Any]) -> str:
    out = [ROOT]
    for part in parts:
        out.append(f"[{part}]" if type(part) is int else f".{part}")
    return "".join(out)


class WarningLog:
    """Warnings, and the path (keys and indices from the root) of the value being written."""

    __slots__ = ("lines", "path", "suppressed")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.suppressed = 0
        self.path: list[Any] = []  # dict keys (str) and list indices (int) from the root

    def reset(self) -> None:
        self.lines = []
        self.suppressed = 0
        self.path = []

    def warn(self, message: str, extra: Any = None) -> None:
        """Record a lossy conversion at the current path (plus ``extra``, a key or index)."""
        if len(self.lines) >= MAX_WARNINGS:
            self.suppressed += 1
            return
        parts = self.path if extra is None else [*self.path, extra]
        self.lines.append(one_line(f"{format_path(parts)}: {message}"))

    def all(self) -> list[str]:
        """The warnings, with a closing count of those not listed (the log's own list)."""
        if self.suppressed:
            self.lines.append(f"... and {self.suppressed} more lossy conversions")
            self.suppressed = 0
        return self.lines

    def nonfinite(self, found: list[tuple[Any, float]]) -> None:
        """Warn about the non-finite floats of one container, as ``(key or index, value)``."""
        if len(found) == 1:
            where, value = found[0]
            self.warn(f"{float_text(value)} written as null", where)
        else:
            self.counts(Counter(float_text(value) for _, value in found))

    def counts(self, counts: dict[str, int]) -> None:
        """One line per container, however many NaNs it holds."""
        counts = {name: n for name, n in counts.items() if n}
        total = sum(counts.values())
        if total == 1:
            self.warn(f"{next(iter(counts))} written as null")
        else:
            detail = ", ".join(f"{n} {name}" for name, n in counts.items())
            self.warn(f"{total} non-finite values written as null ({detail})")
