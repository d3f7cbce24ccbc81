"""Property tests: any nesting of supported values gives valid JSON, exactly.

- JSON-native input round-trips unchanged, at every indent.
- Any supported input gives RFC 8259 JSON (no NaN/Infinity tokens), and the
  fast path (orjson) and the exact path (deep nesting, cycles) agree.
- Where the original writer succeeds and no deliberate improvement applies,
  the output equals the original's (``benchmarks/seed_baseline.py``, a
  reimplementation of the original approach used here as a computed reference).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import os
import pathlib
import sys
import uuid
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pyexec_store.results import encode_results, make_json_serializable
from pyexec_store.results.exact import ExactWalker as _Encoder
from pyexec_store.results.jsontext import dump_plain as _dump_plain

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))
import seed_baseline

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"not RFC 8259 JSON: {name}")


def strict_loads(data: bytes) -> Any:
    return json.loads(data, parse_constant=_reject_constant)


class Tone(enum.Enum):
    LOW = 1
    HIGH = "high"


class Recordish:
    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def to_dict(self) -> Any:
        return self.payload


class Opaque:
    def __init__(self, n: int) -> None:
        self.n = n

    def __str__(self) -> str:
        return f"Opaque({self.n})"


# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)
json_scalars = st.none() | st.booleans() | st.integers() | finite | st.text(max_size=20)
json_native = st.recursive(
    json_scalars,
    lambda kids: (
        st.lists(kids, max_size=6) | st.dictionaries(st.text(max_size=8), kids, max_size=6)
    ),
    max_leaves=40,
)

numeric_dtypes = st.sampled_from(
    [
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "bool",
        "complex64",
        "complex128",
        ">i4",
        ">f8",
    ]
)


@st.composite
def arrays(draw: Any, nan: bool) -> Any:
    dtype = np.dtype(draw(numeric_dtypes))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    elements = None
    if dtype.kind in "fc":
        elements = st.floats(
            width=min(dtype.itemsize * 8 // (2 if dtype.kind == "c" else 1), 64),
            allow_nan=nan,
            allow_infinity=nan,
        )
    arr = draw(hnp.arrays(dtype, shape, elements=elements))
    layout = draw(st.sampled_from(["c", "f", "t", "s"]))
    if layout == "f":
        arr = np.asfortranarray(arr)
    elif layout == "t":
        arr = arr.T
    elif layout == "s" and arr.ndim:
        arr = arr[::2]
    return arr


def seed_safe_leaves() -> st.SearchStrategy[Any]:
    """Values the original writer handles, with no deliberate improvement involved."""
    return st.one_of(
        json_scalars,
        arrays(nan=False),
        st.builds(np.int64, st.integers(-(2**63), 2**63 - 1)),
        st.builds(np.float32, st.floats(width=32, allow_nan=False, allow_infinity=False)),
        st.builds(np.float64, finite),
        st.builds(np.bool_, st.booleans()),
        st.sets(st.integers(-5, 5), max_size=4),
        st.frozensets(st.text(max_size=3), max_size=3),
        st.complex_numbers(allow_nan=False, allow_infinity=False),
        st.builds(pathlib.Path, st.sampled_from(["/tmp/a", "rel/b.csv", "."])),
        st.datetimes(),
        st.times().map(lambda t: t.replace(microsecond=0)),
        st.timedeltas(),
        st.decimals(allow_nan=False, allow_infinity=False, places=3),
        st.binary(max_size=5),
        st.builds(Opaque, st.integers(0, 9)),
        st.builds(
            lambda cols, n: pd.DataFrame({c: np.arange(n) * 0.5 for c in cols}),
            st.lists(st.sampled_from("abc"), unique=True, min_size=1),
            st.integers(0, 4),
        ),
        st.builds(lambda xs: pd.Series(xs, dtype=float), st.lists(finite, max_size=4)),
        st.builds(Recordish, st.dictionaries(st.text(max_size=3), json_scalars, max_size=3)),
    )


seed_keys = st.text(max_size=5) | st.integers() | finite | st.booleans() | st.none()


def nested(leaves: st.SearchStrategy[Any], keys: st.SearchStrategy[Any]) -> Any:
    return st.recursive(
        leaves,
        lambda kids: (
            st.lists(kids, max_size=5)
            | st.tuples(kids, kids)
            | st.dictionaries(keys, kids, max_size=5)
            | st.builds(Recordish, st.dictionaries(st.text(max_size=3), kids, max_size=3))
        ),
        max_leaves=25,
    )


all_leaves = seed_safe_leaves() | st.one_of(
    st.floats(),  # NaN and Infinity included
    arrays(nan=True),
    st.sampled_from(list(Tone)),
    st.uuids(),
    st.dates(),
    st.builds(lambda s: np.datetime64(s, "s"), st.integers(-(10**10), 10**10)),
    st.integers(min_value=2**64, max_value=2**200) | st.integers(max_value=-(2**63) - 1),
)
all_keys = (
    seed_keys
    | st.tuples(st.integers(), st.text(max_size=2))
    | st.dates()
    | st.sampled_from(list(Tone))
)


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------


@SETTINGS
@given(json_native)
def test_json_native_round_trips(value: Any) -> None:
    for indent in (2, None, 3):
        enc = encode_results(value, indent=indent)
        assert strict_loads(enc.data) == value
        assert enc.warnings == []
    assert make_json_serializable(value) == value
    assert strict_loads(_dump_plain(value, 2)) == value


@SETTINGS
@given(nested(all_leaves, all_keys))
def test_any_supported_value_is_valid_json_and_both_paths_agree(value: Any) -> None:
    enc = encode_results(value)
    parsed = strict_loads(enc.data)
    assert enc.data.endswith(b"\n")
    enc.data.decode("utf-8")
    exact = _Encoder().plain(value)
    assert parsed == exact
    assert strict_loads(_dump_plain(exact, 2)) == parsed
    assert make_json_serializable(value) == parsed
    assert strict_loads(encode_results(value, indent=None).data) == parsed


@SETTINGS
@given(nested(seed_safe_leaves(), seed_keys))
def test_equal_to_the_original_where_it_succeeds(value: Any) -> None:
    expected = seed_baseline.make_json_serializable(value)
    assert strict_loads(encode_results(value).data) == expected
    assert make_json_serializable(value) == expected


@SETTINGS
@given(
    st.lists(st.floats(), min_size=64, max_size=300),
    st.integers(0, 63),
)
def test_bulk_checks_never_hide_a_nan(values: list[float], probe: int) -> None:
    # large containers are checked in bulk first: NaN and Infinity must still be seen
    values[probe] = float("nan")
    as_dict = {str(i): v for i, v in enumerate(values)}
    records = [{"x": v} for v in values]
    enc = encode_results({"l": values, "d": as_dict, "r": records})
    parsed = strict_loads(enc.data)
    assert parsed["l"][probe] is None and parsed["d"][str(probe)] is None
    assert parsed["r"][probe] == {"x": None}
    assert any(w.startswith("results.l") for w in enc.warnings)
    assert any(w.startswith("results.d") for w in enc.warnings)
    assert any(w.startswith("results.r") for w in enc.warnings)


def test_seed_reference_sanity() -> None:
    # the reference really is the original approach: it writes NaN and fails on tuple keys
    assert json.dumps(seed_baseline.make_json_serializable([float("nan")])) == "[NaN]"
    assert seed_baseline.make_json_serializable({(1,): 1})["_serialization_failed"] is True
    assert seed_baseline.make_json_serializable(dt.date(2024, 1, 1))["type"] == "date"
    assert seed_baseline.make_json_serializable(decimal.Decimal(1))["type"] == "Decimal"
    assert seed_baseline.make_json_serializable(uuid.UUID(int=0))["type"] == "UUID"
