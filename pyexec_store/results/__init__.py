"""Results JSON: the ``results.json`` writer and reader, fast, exact, bounded and never failing.

:func:`encode_results` turns whatever a piece of generated code left in
``results`` into one complete JSON document in memory; :func:`decode_results`
reads one back. Neither does I/O (``pyexec_store.resultfiles`` writes and reads
files).

The output is JSON-equal, once parsed, to what the original executor wrote
(``json.loads(json.dumps(obj, default=...))`` followed by ``json.dump(indent=2)``),
for every value it could write; the deliberate differences are listed in
``docs/serialization.md``. Modules, one job each:

- :mod:`.convert`: the conversion chain and key spelling (the policy), and the
  one classification of values both walkers use;
- :mod:`.fast`: the copy-on-write pre-pass for orjson (with :mod:`.bulk`, C-speed
  checks of large containers, and :mod:`._numpy`, arrays and datetime64);
- :mod:`.exact`: the iterative, cycle-aware walker for what the fast path cannot take;
- :mod:`.jsontext`: the any-depth writer and exact-integer parser (with :mod:`.scan`);
- :mod:`.warnings`: the path-tracking warnings log;
- :mod:`.credentials`: objects that may carry credentials, written as their type name;
- :mod:`.limits`: the bounds (integer digits, depth, document size).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import orjson

from ._text import failed_record, safe_str, type_name
from .convert import Converter
from .exact import ExactWalker
from .fast import FastPass
from .jsontext import dump_plain, loads_exact
from .limits import (
    INT_DIGITS_IF_UNLIMITED,
    MAX_BYTES,
    MAX_DEPTH,
    BoundError,
    TooLarge,
    max_int_digits,
    too_large_record,
)
from .scan import holds_huge_floats, may_hold_big_ints, nesting_depth

__all__ = [
    "INT_DIGITS_IF_UNLIMITED",
    "MAX_BYTES",
    "MAX_DEPTH",
    "EncodedResults",
    "decode_results",
    "encode_results",
    "make_json_serializable",
    "max_int_digits",
]

#: orjson options used everywhere: numpy natively, int/bool/None keys like the
#: stdlib, and datetimes handed to us so they get the original ``isoformat()``.
_OPTIONS = (
    orjson.OPT_SERIALIZE_NUMPY
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
#: Deeper documents are written compact (indentation would grow quadratically).
_MAX_INDENTED_DEPTH = 1000
#: The fast path's options by indent (orjson indents by 2 only; others are laid out again).
_FAST_OPTIONS = {
    2: _OPTIONS | orjson.OPT_APPEND_NEWLINE | orjson.OPT_INDENT_2,
    None: _OPTIONS | orjson.OPT_APPEND_NEWLINE,
}


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


def _check_indent(indent: Any) -> int | None:
    if indent is None or (isinstance(indent, int) and not isinstance(indent, bool)):
        return indent
    from ..errors import ConfigTypeError

    raise ConfigTypeError(f"indent must be an int or None, not {type(indent).__name__}")


def _check_max_bytes(max_bytes: Any) -> int:
    if max_bytes is None:
        return MAX_BYTES  # read at call time: setting the module's MAX_BYTES changes the default
    if isinstance(max_bytes, int) and not isinstance(max_bytes, bool):
        if max_bytes < 0:
            from ..errors import ConfigError

            raise ConfigError(f"max_bytes must be >= 0, not {max_bytes}")
        return max_bytes
    from ..errors import ConfigTypeError

    raise ConfigTypeError(f"max_bytes must be an int or None, not {type(max_bytes).__name__}")


def _encode(conv: Converter, results: Any, indent: int | None, limit: int) -> bytes:
    fast = FastPass(conv, limit, indent)
    data = fast.dumps(results, _FAST_OPTIONS.get(indent, _FAST_OPTIONS[None]))
    if data is not None:  # within the bound: checked by dumps()
        if indent is None or indent == 2:
            return data
        # orjson only indents by 2: lay the finished document out again
        data = dump_plain(fast.loads(data), indent)
    else:
        walker = ExactWalker(conv, limit=limit, indent=indent)
        plain = walker.plain(results)
        if indent is not None and walker.max_depth > _MAX_INDENTED_DEPTH:
            # indentation grows with the square of the depth: write such documents compact
            conv.warn(f"nesting {walker.max_depth} levels deep; written without indentation")
            indent = None
        data = dump_plain(plain, indent)
    if len(data) > limit:
        raise TooLarge(len(data))
    return data


def encode_results(
    results: Any, *, indent: int | None = 2, max_bytes: int | None = None
) -> EncodedResults:
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
    max_bytes : int or None, default None
        The largest document to write; ``None`` means :data:`MAX_BYTES` (1 GiB).
        A larger one is not built: the document is the ``_serialization_failed``
        record saying so, found in time and memory bounded by the input's own
        (a structure sharing its parts is measured, not unfolded).

    Returns
    -------
    EncodedResults
        ``data`` (UTF-8 JSON ending in a newline) and ``warnings`` (every lossy
        conversion, e.g. ``"results.a.b: NaN written as null"``).

    Raises
    ------
    pyexec_store.ConfigTypeError
        Only if ``indent`` or ``max_bytes`` is of the wrong type (and
        ``pyexec_store.ConfigError`` for a negative ``max_bytes``). Nothing in
        ``results`` makes this function raise.

    Examples
    --------
    >>> encode_results({"x": float("nan")}, indent=None)
    EncodedResults(data=b'{"x":null}\\n', warnings=['results.x: NaN written as null'])
    """
    if indent is not None and type(indent) is not int:
        indent = _check_indent(indent)
    limit = MAX_BYTES if max_bytes is None else _check_max_bytes(max_bytes)
    conv = Converter()
    try:
        return EncodedResults(_encode(conv, results, indent, limit), conv.log.all())
    except TooLarge as e:
        record = too_large_record(conv.log, results, limit, e.size)
    except Exception as e:  # last resort: the original's failure record, always writable
        conv.log.reset()
        conv.warn(f"could not be serialized ({type_name(e)}: {safe_str(e)})")
        record = failed_record(results, safe_str(e))
    option = orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if indent is not None else 0)
    return EncodedResults(orjson.dumps(record, option=option), conv.log.all())


def make_json_serializable(obj: Any) -> Any:
    """Convert ``obj`` to plain JSON-able Python: dicts, lists, str, int, float, bool, None.

    The result equals what the original function returned (a stdlib round trip
    through its ``default`` chain), except for the documented improvements:
    NaN and Infinity become ``None``, and values it gave up on are converted.
    Results larger than :data:`MAX_BYTES` as JSON give the ``_serialization_failed`` record.

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
    conv = Converter()
    limit = _check_max_bytes(None)
    try:
        fast = FastPass(conv, limit, None)
        data = fast.dumps(obj, _OPTIONS)
        if data is None:
            return ExactWalker(conv, limit=limit).plain(obj)
        return fast.loads(data)
    except TooLarge as e:
        return too_large_record(conv.log, obj, limit, e.size)
    except Exception as e:
        return failed_record(obj, safe_str(e))


#: Nesting every orjson release parses: a refusal of a shallower document without
#: big integers is a syntax error, not a limit.
_SHALLOW = 250


def decode_results(data: bytes | str) -> Any:
    """Parse a results document; integers exact up to the digit bound, nesting up to MAX_DEPTH.

    orjson parses it; only a document that may hold integers orjson would read
    rounded (beyond 64 bits), or that is nested deeper than orjson's 1024
    levels, is parsed again by the exact, iterative parser.

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
    ValueError
        ``orjson.JSONDecodeError`` if ``data`` is not valid JSON; a ``ValueError``
        naming the bound for an integer of more than :func:`max_int_digits`
        digits or nesting deeper than :data:`MAX_DEPTH` (refused in time
        proportional to the document, before anything is built).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        # orjson refuses integers too large for a float, and nesting beyond its own
        # limit (which encode_results writes). Its words for that vary by release,
        # so measure the nesting instead (linear, and only when orjson refused).
        depth = nesting_depth(raw, MAX_DEPTH)
        if depth > MAX_DEPTH:
            raise BoundError(
                f"results JSON nested deeper than {MAX_DEPTH} levels (MAX_DEPTH)"
            ) from None
        if depth <= _SHALLOW and not may_hold_big_ints(raw):
            raise
        try:
            return loads_exact(data)
        except BoundError:
            raise
        except json.JSONDecodeError as exact:  # orjson's is one too
            # Its words say where the document is invalid; orjson's may only say "depth limit".
            raise orjson.JSONDecodeError(exact.msg, exact.doc, exact.pos) from None
        except ValueError:
            raise e from None
    if holds_huge_floats(value, len(raw) // 128) is False or not may_hold_big_ints(raw):
        return value
    return loads_exact(data)
