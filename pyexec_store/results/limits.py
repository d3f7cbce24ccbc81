"""The bounds of a results document, and the signals the walkers raise at them.

A document is bounded three ways, so that no result can make writing or
reading it take unbounded time or memory:

- integers: at most :func:`max_int_digits` decimal digits (the interpreter's
  ``sys.get_int_max_str_digits()``, 4300 by default; :data:`INT_DIGITS_IF_UNLIMITED`
  when the interpreter sets no limit). Converting decimal text takes time
  quadratic in its length; the bound is checked with ``int.bit_length()``,
  which takes none.
- nesting: at most :data:`MAX_DEPTH` levels, written and read.
- size: at most :data:`MAX_BYTES` bytes of JSON (``encode_results(max_bytes=...)``).
"""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING, Any

from ._text import failed_record

if TYPE_CHECKING:
    from .warnings import WarningLog

#: Largest document ``encode_results`` writes by default: 1 GiB.
MAX_BYTES = 1 << 30
#: Deepest nesting written (containers made by conversions that never end stop
#: here) and read back (deeper documents are refused before they are parsed).
MAX_DEPTH = 100_000
#: The digit bound when the interpreter sets none (``sys.set_int_max_str_digits(0)``):
#: 50000 digits convert in about 25 ms; a million would take seconds.
INT_DIGITS_IF_UNLIMITED = 50_000
#: The interpreter's default, for interpreters without ``sys.get_int_max_str_digits``.
_DEFAULT_INT_DIGITS = 4300

_LOG10_2 = 0.30102999566398120


def max_int_digits() -> int:
    """The most decimal digits an integer may have to be written or read exactly."""
    get = getattr(sys, "get_int_max_str_digits", None)
    limit = _DEFAULT_INT_DIGITS if get is None else int(get())
    return limit if limit > 0 else INT_DIGITS_IF_UNLIMITED


def approx_digits(value: int) -> int:
    """About how many decimal digits ``value`` has (from its bit length: no conversion)."""
    return int(max(value.bit_length() - 1, 0) * _LOG10_2) + 1


def int_too_long(value: int, bound: int) -> bool:
    """True when ``value`` has more than ``bound`` decimal digits.

    Decided from ``int.bit_length()`` (and, within one digit of the bound, one
    comparison with ``10**bound``), never by converting ``value`` to text.
    """
    bits = value.bit_length()
    if bits * _LOG10_2 < bound - 1:  # at most floor(bits * log10(2)) + 1 <= bound digits
        return False
    if (bits - 1) * _LOG10_2 > bound + 1:  # at least floor((bits - 1) * log10(2)) + 1 digits
        return True
    return abs(value) >= _pow10(bound)


@functools.lru_cache(maxsize=8)
def _pow10(n: int) -> int:
    return int(10**n)


class BoundError(ValueError):
    """A document to read is past one of the bounds (digits, depth); the message names it."""


class TooDeep(Exception):
    """The fast path cannot take this nesting depth (or this long a conversion chain)."""


class Circular(Exception):
    """A container or conversion refers back to itself."""


class Runaway(Exception):
    """Containers (made by conversions) nest deeper than :data:`MAX_DEPTH`."""


class TooLarge(Exception):
    """The document would be larger than its bound; ``size`` is a lower bound of its size."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def too_large_record(log: WarningLog, obj: Any, limit: int, size: int) -> dict[str, Any]:
    """The ``_serialization_failed`` record of a document past ``max_bytes``, and its warning."""
    log.reset()
    log.warn(
        f"document larger than max_bytes={limit} (at least {size} bytes); "
        "written as a _serialization_failed record"
    )
    return failed_record(obj, f"document larger than {limit} bytes (max_bytes)")
