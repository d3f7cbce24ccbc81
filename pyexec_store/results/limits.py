"""Signals the walkers raise, and the deepest nesting the exact path writes."""

from __future__ import annotations

#: Deepest nesting written: the exact path is iterative; this only bounds runaway
#: nesting (an object whose ``to_dict`` returns a dict holding a new such object, forever).
MAX_DEPTH = 100_000


class TooDeep(Exception):
    """The fast path cannot take this nesting depth (or this long a conversion chain)."""


class Circular(Exception):
    """A container or conversion refers back to itself."""


class Runaway(Exception):
    """Containers (made by conversions) nest deeper than :data:`MAX_DEPTH`."""
