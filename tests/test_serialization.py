"""Results JSON: parity with the original writer, improvements, adversarial input, file writes.

Each parity case states the original's output, derived by hand from its
``default`` chain (``datetime`` -> ``tolist`` -> ``item`` -> figure ->
``to_dict``+``index`` -> ``Path`` -> sets -> ``complex`` -> ``to_dict`` -> string
record) and from the stdlib's handling of JSON types and keys.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import os
import pathlib
import sys
import threading
import uuid
import warnings
from typing import Any

import matplotlib
import numpy as np
import orjson
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from pyexec_store.resultfiles import load_results, serialize_results_to_file
from pyexec_store.results import (
    EncodedResults,
    decode_results,
    encode_results,
    make_json_serializable,
)
from pyexec_store.results.exact import ExactWalker as _Encoder
from pyexec_store.results.jsontext import dump_plain as _dump_plain


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"not RFC 8259 JSON: {name}")


def strict_loads(data: bytes) -> Any:
    """Parse as RFC 8259 JSON: NaN/Infinity are refused."""
    return json.loads(data, parse_constant=_reject_constant)


def out(value: Any, **kw: Any) -> Any:
    """What our results.json holds for ``value``, parsed."""
    return strict_loads(encode_results(value, **kw).data)


def string_record(value: str, type_: str, module: str) -> dict[str, Any]:
    return {
        "value": value,
        "type": type_,
        "module": module,
        "_serialization_note": "converted_to_string",
    }


def cplx(real: float, imag: float) -> dict[str, Any]:
    return {"real": real, "imag": imag, "_type": "complex"}


class Opaque:
    def __str__(self) -> str:
        return "opaque!"


class WithToDict:
    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def to_dict(self) -> Any:
        return self.payload


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Mode(str, enum.Enum):
    FAST = "fast"


@dataclasses.dataclass
class Point:
    x: int
    y: float
    _hidden: int = 0


Pair = collections.namedtuple("Pair", "a b")


def _matrix(rows: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.matrix(rows)


class MyFloat(float):
    pass


# ---------------------------------------------------------------------------
# parity: what the original wrote, case by case
# ---------------------------------------------------------------------------

PARITY: list[tuple[str, Any, Any]] = [
    # JSON natives
    ("str", "héllo ✓", "héllo ✓"),
    ("int", 42, 42),
    ("float", 0.1, 0.1),
    ("float exponent", 1e16, 1e16),
    ("bool/None", [True, False, None], [True, False, None]),
    ("tuple", (1, (2, 3)), [1, [2, 3]]),
    ("nested", {"a": [{"b": {"c": [1, 2.5, "x"]}}]}, {"a": [{"b": {"c": [1, 2.5, "x"]}}]}),
    ("int 2**64-1", 2**64 - 1, 18446744073709551615),
    ("int beyond 64 bits", 2**100, 1267650600228229401496703205376),
    ("negative beyond 64 bits", -(2**70), -1180591620717411303424),
    ("big int nested", {"n": [2**65, 1]}, {"n": [36893488147419103232, 1]}),
    # keys: the stdlib's spellings
    ("int keys", {1: "a", -2: "b"}, {"1": "a", "-2": "b"}),
    ("float keys", {1.5: "a", 1e16: "b", 0.1: "c"}, {"1.5": "a", "1e+16": "b", "0.1": "c"}),
    ("bool/None keys", {True: 1, False: 2, None: 3}, {"true": 1, "false": 2, "null": 3}),
    ("big int key", {2**70: 1}, {"1180591620717411303424": 1}),
    ("non-finite float keys", {math.nan: 1, math.inf: 2}, {"NaN": 1, "Infinity": 2}),
    ("numpy float64 key", {np.float64(2.5): 1}, {"2.5": 1}),
    ("IntEnum key", {Level.HIGH: 1}, {"3": 1}),
    # subclasses of JSON types are written by value
    ("namedtuple", Pair(1, 2), [1, 2]),
    ("OrderedDict", collections.OrderedDict([("b", 1), ("a", 2)]), {"b": 1, "a": 2}),
    ("defaultdict", collections.defaultdict(list, {"k": [1]}), {"k": [1]}),
    ("IntEnum", Level.HIGH, 3),
    ("str Enum", Mode.FAST, "fast"),
    ("float subclass", MyFloat(2.5), 2.5),
    ("numpy str_", np.str_("s"), "s"),
    # numpy arrays: every numeric dtype, via tolist()
    *[
        (f"array {dt_}", np.array([1, 2], dtype=dt_), [1, 2])
        for dt_ in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
    ],
    ("array uint64 max", np.array([2**64 - 1], dtype=np.uint64), [18446744073709551615]),
    ("array int64 min", np.array([-(2**63)], dtype=np.int64), [-9223372036854775808]),
    ("array float64", np.array([0.1, -2.5, 1e300]), [0.1, -2.5, 1e300]),
    ("array float32 widened", np.array([0.1], dtype=np.float32), [0.10000000149011612]),
    ("array float16 widened", np.array([0.1], dtype=np.float16), [0.0999755859375]),
    ("array bool", np.array([True, False]), [True, False]),
    ("array complex128", np.array([1 + 2j, -0.5j]), [cplx(1.0, 2.0), cplx(-0.0, -0.5)]),
    ("array complex64", np.array([0.1 + 1j], dtype=np.complex64), [cplx(0.10000000149011612, 1.0)]),
    ("array 2-D", np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
    ("array 3-D", np.arange(8).reshape(2, 2, 2), [[[0, 1], [2, 3]], [[4, 5], [6, 7]]]),
    ("array 0-d int", np.array(7), 7),
    ("array 0-d float32", np.array(0.5, dtype=np.float32), 0.5),
    ("array 0-d object", np.array({1}, dtype=object), {"items": [1], "_type": "set"}),
    ("array empty", np.array([], dtype=np.float64), []),
    ("array empty 2-D", np.zeros((0, 3)), []),
    ("array empty columns", np.zeros((2, 0)), [[], []]),
    ("array strided", np.arange(10)[::3], [0, 3, 6, 9]),
    ("array reversed", np.arange(3.0)[::-1], [2.0, 1.0, 0.0]),
    ("array Fortran", np.asfortranarray(np.array([[1, 2], [3, 4]])), [[1, 2], [3, 4]]),
    ("array transposed", np.array([[1, 2, 3], [4, 5, 6]]).T, [[1, 4], [2, 5], [3, 6]]),
    ("array big-endian int", np.array([1, 256], dtype=">i4"), [1, 256]),
    ("array big-endian float", np.array([1.5], dtype=">f8"), [1.5]),
    ("array object", np.array([1, "a", None, 2.5], dtype=object), [1, "a", None, 2.5]),
    (
        "array object nested",
        np.array([{3}, 1j], dtype=object),
        [{"items": [3], "_type": "set"}, cplx(0.0, 1.0)],
    ),
    ("array str", np.array(["a", "bc"]), ["a", "bc"]),
    ("array bytes", np.array([b"ab"]), [string_record("b'ab'", "bytes", "builtins")]),
    (
        "array timedelta64",
        np.array([1], dtype="timedelta64[s]"),
        [string_record("0:00:01", "timedelta", "datetime")],
    ),
    ("masked array", np.ma.masked_array([1, 2], mask=[False, True]), [1, None]),
    ("matrix", _matrix([[1, 2]]), [[1, 2]]),
    # numpy scalars
    ("np.int64", np.int64(5), 5),
    ("np.uint64", np.uint64(2**64 - 1), 18446744073709551615),
    ("np.float64", np.float64(0.1), 0.1),
    ("np.float32", np.float32(0.1), 0.10000000149011612),
    ("np.bool_", np.bool_(True), True),
    ("np.complex128", np.complex128(1 + 1j), cplx(1.0, 1.0)),
    ("np scalars nested", {"a": [np.int8(1), np.float16(0.5)]}, {"a": [1, 0.5]}),
    # pandas
    (
        "DataFrame",
        pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
        {"a": {"0": 1, "1": 2}, "b": {"0": "x", "1": "y"}},
    ),
    (
        "DataFrame str index",
        pd.DataFrame({"v": [0.5]}, index=["r1"]),
        {"v": {"r1": 0.5}},
    ),
    (
        "DataFrame float index",
        pd.DataFrame({"v": [1]}, index=[0.5]),
        {"v": {"0.5": 1}},
    ),
    (
        "DataFrame Timestamp values",
        pd.DataFrame({"t": pd.to_datetime(["2024-01-02 03:04:05"])}),
        {"t": {"0": "2024-01-02T03:04:05"}},
    ),
    ("Series (tolist first)", pd.Series([1.5, 2.5], index=["a", "b"]), [1.5, 2.5]),
    ("Index", pd.Index([3, 4]), [3, 4]),
    ("Timestamp", pd.Timestamp("2024-01-02 03:04:05.123456"), "2024-01-02T03:04:05.123456"),
    ("Timestamp tz", pd.Timestamp("2024-01-02", tz="UTC"), "2024-01-02T00:00:00+00:00"),
    # the rest of the chain
    ("set", {1}, {"items": [1], "_type": "set"}),
    ("frozenset", frozenset(["a"]), {"items": ["a"], "_type": "frozenset"}),
    ("set of complex", {2j}, {"items": [cplx(0.0, 2.0)], "_type": "set"}),
    ("complex", 1 + 2j, cplx(1.0, 2.0)),
    ("Path", pathlib.Path("/tmp/x.csv"), "/tmp/x.csv"),
    (
        "PurePath is not a Path",
        pathlib.PurePosixPath("/p"),
        string_record("/p", "PurePosixPath", "pathlib"),
    ),
    ("datetime", dt.datetime(2024, 1, 2, 3, 4, 5, 6), "2024-01-02T03:04:05.000006"),
    (
        "datetime tz with seconds",
        dt.datetime(2024, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=5, seconds=30))),
        "2024-01-02T00:00:00+05:00:30",
    ),
    ("time", dt.time(12, 30), string_record("12:30:00", "time", "datetime")),
    ("timedelta", dt.timedelta(days=1), string_record("1 day, 0:00:00", "timedelta", "datetime")),
    ("Decimal", decimal.Decimal("1.10"), string_record("1.10", "Decimal", "decimal")),
    ("bytes", b"\x00a", string_record("b'\\x00a'", "bytes", "builtins")),
    (
        "bytearray tolist-less",
        bytearray(b"a"),
        string_record("bytearray(b'a')", "bytearray", "builtins"),
    ),
    ("memoryview has tolist", memoryview(b"ab"), [97, 98]),
    ("to_dict object", WithToDict({"k": np.array([1.5])}), {"k": [1.5]}),
    ("to_dict returning set", WithToDict({1, 2}), {"items": [1, 2], "_type": "set"}),
    ("plain object", Opaque(), string_record("opaque!", "Opaque", __name__)),
    ("type object", int, string_record("<class 'int'>", "type", "builtins")),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in PARITY], ids=[c[0] for c in PARITY])
def test_parity_with_the_original(value: Any, expected: Any) -> None:
    assert out(value) == expected
    assert out({"nested": [value]}) == {"nested": [expected]}
    assert make_json_serializable(value) == expected


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in PARITY], ids=[c[0] for c in PARITY])
def test_exact_path_agrees(value: Any, expected: Any) -> None:
    # the exact path (deep nesting, cycles) writes the same values as the fast one
    assert _Encoder().plain(value) == expected
    assert strict_loads(_dump_plain(_Encoder().plain(value), 2)) == expected


def test_matplotlib_figure_record() -> None:
    fig, ax = plt.subplots(figsize=(4, 3), dpi=50)
    try:
        ax.plot(np.array([0.0, 1.0]), np.array([2.0, 3.0]), label="line")
        ax.set_title("T")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_xlim(0, 1)
        ax.set_ylim(2, 3)
        expected = {
            "_type": "matplotlib_figure",
            "figure_size": [4.0, 3.0],
            "dpi": 50.0,
            "axes": [
                {
                    "title": "T",
                    "xlabel": "x",
                    "ylabel": "y",
                    "xlim": [0.0, 1.0],
                    "ylim": [2.0, 3.0],
                    "lines": [{"xdata": [0.0, 1.0], "ydata": [2.0, 3.0], "label": "line"}],
                }
            ],
            "_note": "Matplotlib figure serialized with basic plot data",
        }
        assert out({"fig": fig}) == {"fig": expected}
        assert make_json_serializable(fig) == expected
    finally:
        plt.close(fig)


def test_matplotlib_figure_error_record() -> None:
    class Figure:  # duck-typed like the original's check
        def savefig(self) -> None: ...

        def get_axes(self) -> list[Any]:
            raise RuntimeError("boom")

        def __str__(self) -> str:
            return "Figure(bad)"

    assert out(Figure()) == {
        "_type": "matplotlib_figure",
        "_error": "Failed to serialize figure: boom",
        "_fallback": "Figure(bad)",
    }


def test_failed_tolist_and_item_write_null_like_the_original() -> None:
    class BadToList:
        def tolist(self) -> Any:
            raise ValueError("no")

    class BadItem:
        def item(self) -> Any:
            raise ValueError("no")

    enc = encode_results({"a": BadToList(), "b": BadItem()})
    assert strict_loads(enc.data) == {"a": None, "b": None}
    assert len(enc.warnings) == 2
    assert enc.warnings[0].startswith("results.a: BadToList.tolist() failed")


@pytest.mark.parametrize("make", [dict, list], ids=["dict", "list"])
def test_circular_structure_gives_the_original_failed_record(make: Any) -> None:
    if make is dict:
        value: Any = {"a": 1}
        value["self"] = value
    else:
        value = [1]
        value.append(value)
    enc = encode_results(value)
    assert strict_loads(enc.data) == {
        "_serialization_failed": True,
        "_original_type": make.__name__,
        "_error": "Circular reference detected",
        "_string_representation": str(value),
    }
    assert any("circular" in w for w in enc.warnings)
    assert make_json_serializable(value)["_serialization_failed"] is True


def test_to_dict_returning_itself_is_circular() -> None:
    class Selfish:
        def to_dict(self) -> Any:
            return self

        def __str__(self) -> str:
            return "selfish"

    value = {"x": Selfish()}
    assert out(value) == {
        "_serialization_failed": True,
        "_original_type": "dict",
        "_error": "Circular reference detected",
        "_string_representation": str(value),
    }


def test_shared_references_are_not_circular() -> None:
    shared = [1, 2]
    assert out({"a": shared, "b": shared, "c": [shared, shared]}) == {
        "a": [1, 2],
        "b": [1, 2],
        "c": [[1, 2], [1, 2]],
    }


@pytest.mark.parametrize("depth", [253, 254, 255, 300, 900])
def test_nesting_beyond_orjson_limit_is_exact(depth: int) -> None:
    value: Any = 1
    expected: Any = 1
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
        expected = [expected] if i % 2 else {"k": expected}
    assert out(value) == expected
    assert out(value, indent=None) == expected
    assert make_json_serializable(value) == expected


# ---------------------------------------------------------------------------
# deliberate improvements (docs/serialization.md lists each)
# ---------------------------------------------------------------------------


def test_nan_and_infinity_become_null_with_warnings() -> None:
    # the original wrote NaN / Infinity / -Infinity: not JSON
    value = {
        "a": {"b": math.nan},
        "list": [1.0, math.inf, -math.inf, math.nan],
        "arr": np.array([1.0, np.nan, np.inf]),
        "arr32": np.array([np.nan], dtype=np.float32),
        "scalar": np.float64("nan"),
        "frame": pd.DataFrame({"x": [1.0, None]}),
        "series": pd.Series([np.nan]),
    }
    enc = encode_results(value)
    assert strict_loads(enc.data) == {
        "a": {"b": None},
        "list": [1.0, None, None, None],
        "arr": [1.0, None, None],
        "arr32": [None],
        "scalar": None,
        "frame": {"x": {"0": 1.0, "1": None}},
        "series": [None],
    }
    assert "results.a.b: NaN written as null" in enc.warnings
    assert any(w.startswith("results.list: 3 non-finite values") for w in enc.warnings)
    assert any(w.startswith("results.arr: 2 non-finite values") for w in enc.warnings)
    assert "results.arr32: NaN written as null" in enc.warnings
    assert "results.scalar: NaN written as null" in enc.warnings
    assert "results.frame.x[1]: NaN written as null" in enc.warnings or any(
        w.startswith("results.frame.x") for w in enc.warnings
    )
    assert "results.series[0]: NaN written as null" in enc.warnings
    assert make_json_serializable([math.nan]) == [None]


def test_large_containers_with_nan_are_still_found() -> None:
    values = [float(i) for i in range(1000)]
    values[777] = math.nan
    enc = encode_results({"v": values, "d": {str(i): v for i, v in enumerate(values)}})
    data = strict_loads(enc.data)
    assert data["v"][777] is None and data["d"]["777"] is None
    assert "results.v[777]: NaN written as null" in enc.warnings
    assert "results.d.777: NaN written as null" in enc.warnings


def test_large_containers_of_records_with_odd_values_are_converted() -> None:
    records = [{"i": i, "x": 0.5} for i in range(500)]
    records[-1]["x"] = np.float32(0.1)
    records[-2]["x"] = math.inf
    records[-3]["x"] = 2**80
    data = out({"records": records})["records"]
    assert data[-1]["x"] == 0.10000000149011612
    assert data[-2]["x"] is None
    assert data[-3]["x"] == 2**80
    assert data[0] == {"i": 0, "x": 0.5}


def test_exotic_keys_are_written_instead_of_giving_up() -> None:
    # the original: TypeError "keys must be str, int, float, bool or None" -> failed record
    when = pd.Timestamp("2024-01-02")
    frame = pd.DataFrame({"v": [1, 2]}, index=pd.to_datetime(["2024-01-02", "2024-01-03"]))
    enc = encode_results(
        {
            "tuple": {(1, 2): "a"},
            "ts": {when: 1},
            "date": {dt.date(2024, 1, 2): 1},
            "np": {np.int64(7): 1},
            "enum": {Color.RED: 1},
            "frame": frame,
        }
    )
    assert strict_loads(enc.data) == {
        "tuple": {"(1, 2)": "a"},
        "ts": {"2024-01-02T00:00:00": 1},
        "date": {"2024-01-02": 1},
        "np": {"7": 1},
        "enum": {"red": 1},
        "frame": {"v": {"2024-01-02T00:00:00": 1, "2024-01-03T00:00:00": 2}},
    }
    assert "results.tuple: 1 key of type tuple written as string" in enc.warnings
    assert "results.frame.v: 2 keys of type Timestamp written as strings" in enc.warnings


def test_orjson_natural_forms() -> None:
    assert out(Color.RED) == "red"
    assert out(Point(1, 2.5)) == {"x": 1, "y": 2.5}
    assert out(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert out(dt.date(2024, 1, 2)) == "2024-01-02"
    assert out(np.datetime64("2024-01-02T03:04:05")) == "2024-01-02T03:04:05"
    assert out(np.array(["2024-01-02", "2024-01-03"], dtype="datetime64[D]")) == [
        "2024-01-02T00:00:00",
        "2024-01-03T00:00:00",
    ]
    assert out(np.array(["2024-01"], dtype="datetime64[M]")) == ["2024-01-01T00:00:00"]


def test_datetime64_nat_and_nanoseconds() -> None:
    arr = np.array(["2024-01-02T00:00:00.123456789", "NaT"], dtype="datetime64[ns]")
    enc = encode_results({"t": arr})
    assert strict_loads(enc.data) == {"t": ["2024-01-02T00:00:00.123456", None]}
    assert "results.t: 1 NaT written as null" in enc.warnings
    assert "results.t: datetime64[ns] truncated to microseconds" in enc.warnings


def test_integers_beyond_the_digit_limit() -> None:
    # the original: ValueError from int.__repr__ (4300 digits), not even a fallback record;
    # now: exact up to the interpreter's limit, a string record of the hex digits beyond it
    bound = sys.get_int_max_str_digits()
    within = -(10**bound - 1)
    assert encode_results({"n": within}, indent=None).data == b'{"n":%d}\n' % within
    n = 7 * 10**5000
    enc = encode_results({"n": n}, indent=None)
    record = string_record(hex(n), "int", "builtins")
    assert strict_loads(enc.data) == {"n": record}
    assert enc.warnings == [
        f"results.n: int of about 5001 digits (more than {bound}) "
        "written as a string record of its hexadecimal digits"
    ]
    assert make_json_serializable({"n": n}) == {"n": record}


def test_lone_surrogates_are_escaped() -> None:
    data = encode_results({"s": "a\ud800b"}).data
    data.decode("utf-8")  # valid UTF-8
    assert strict_loads(data) == {"s": "a\ud800b"}


def test_longdouble() -> None:
    enc = encode_results({"a": np.array([1.5], dtype=np.longdouble), "s": np.longdouble(2.5)})
    assert strict_loads(enc.data) == {"a": [1.5], "s": 2.5}


# ---------------------------------------------------------------------------
# adversarial input: never raises, always valid JSON
# ---------------------------------------------------------------------------


class Hostile:
    """Every hook raises."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no {name}")

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class BadStr:
    def __str__(self) -> str:
        raise ValueError("no str")

    def __repr__(self) -> str:
        return "BadStr()"


class ToListRaises:
    def tolist(self) -> Any:
        raise RuntimeError("tolist exploded")

    def __str__(self) -> str:
        return "tlr"


class ToDictRaises:
    index = None

    def to_dict(self) -> Any:
        raise RuntimeError("to_dict exploded")

    def __str__(self) -> str:
        return "tdr"


class DatetimeBad(dt.datetime):
    def isoformat(self, *args: Any, **kwargs: Any) -> str:
        raise RuntimeError("no isoformat")


def test_hostile_objects_never_raise() -> None:
    enc = encode_results(
        {
            "hostile": Hostile(),
            "badstr": BadStr(),
            "tolist": ToListRaises(),
            "todict": ToDictRaises(),
            "dt": DatetimeBad(2024, 1, 1),
        }
    )
    data = strict_loads(enc.data)
    assert data["hostile"] == string_record("<unprintable Hostile object>", "Hostile", __name__)
    assert data["badstr"] == string_record("BadStr()", "BadStr", __name__)
    assert data["tolist"] == string_record("tlr", "ToListRaises", __name__)
    assert data["todict"] == string_record("tdr", "ToDictRaises", __name__)
    assert data["dt"]["_serialization_note"] == "converted_to_string"
    assert len(enc.warnings) == 5
    assert all(w.startswith("results.") for w in enc.warnings)


def test_hostile_top_level_and_circular_with_bad_str() -> None:
    assert out(Hostile())["type"] == "Hostile"
    value: list[Any] = [Hostile()]
    value.append(value)
    record = out(value)
    assert record["_serialization_failed"] is True
    assert record["_error"] == "Circular reference detected"


def test_huge_string() -> None:
    big = "é" * 5_000_000 + '"\\\n'
    enc = encode_results({"s": big, "t": [big]})
    assert strict_loads(enc.data) == {"s": big, "t": [big]}


def test_very_deep_nesting() -> None:
    depth = 50_000
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    enc = encode_results(value)
    assert enc.data == b"[" * depth + b'"leaf"' + b"]" * depth + b"\n"
    assert any("written without indentation" in w for w in enc.warnings)
    nested: Any = {}
    for _ in range(depth):
        nested = {"k": nested}
    data = encode_results(nested, indent=None).data
    assert data == b'{"k":' * depth + b"{}" + b"}" * depth + b"\n"


def test_runaway_conversion_is_bounded() -> None:
    class Forever:
        def to_dict(self) -> Any:
            return {"next": Forever()}

    record = out(Forever())
    assert record["_serialization_failed"] is True
    assert "nesting deeper than" in record["_error"]


def test_dict_mutated_by_another_thread() -> None:
    results: dict[str, Any] = {f"k{i}": {"v": [i, i * 0.5, str(i)]} for i in range(20_000)}
    results["nan"] = math.nan
    stop = threading.Event()

    def mutate() -> None:
        i = 0
        while not stop.is_set():
            results[f"new{i % 50}"] = {"c": 1j}
            results.pop(f"new{(i + 25) % 50}", None)
            i += 1

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    worker = threading.Thread(target=mutate)
    worker.start()
    try:
        for indent in (2, None):
            enc = encode_results(results, indent=indent)
            data = strict_loads(enc.data)
            assert data["k19999"] == {"v": [19999, 9999.5, "19999"]}
            assert data["nan"] is None
            mjs = make_json_serializable(results)
            assert mjs["k5"] == {"v": [5, 2.5, "5"]}
    finally:
        stop.set()
        worker.join()
        sys.setswitchinterval(old)


def test_fragment_like_and_odd_types_are_valid_json() -> None:
    weird = {
        "gen": (i for i in range(3)),
        "func": len,
        "cls": Opaque,
        "module": json,
        "ellipsis": ...,
        "slice": slice(1, 2),
        "range": range(3),
        "exc": ValueError("x"),
    }
    data = out(weird)
    assert set(data) == set(weird)
    assert data["ellipsis"] == string_record("Ellipsis", "ellipsis", "builtins")


# ---------------------------------------------------------------------------
# indent and format
# ---------------------------------------------------------------------------


def test_indent_layouts_match_the_stdlib() -> None:
    value = {"a": [1, {"b": None, "c": []}], "d": {}, "e": "x"}
    assert encode_results(value).data == (json.dumps(value, indent=2) + "\n").encode()
    assert (
        encode_results(value, indent=None).data
        == (json.dumps(value, separators=(",", ":")) + "\n").encode()
    )
    for indent in (0, 1, 4, 8):
        expected = (json.dumps(value, indent=indent) + "\n").encode()
        assert encode_results(value, indent=indent).data == expected
        assert _dump_plain(value, indent) == expected
    assert _dump_plain(value, None) == encode_results(value, indent=None).data


def test_indent_with_numpy_and_big_ints() -> None:
    value = {"arr": np.arange(3), "big": 2**70}
    assert out(value, indent=4) == {"arr": [0, 1, 2], "big": 2**70}
    assert b'\n    "arr": [\n        0,' in encode_results(value, indent=4).data


def test_bad_indent_is_a_type_error() -> None:
    from pyexec_store.errors import ConfigTypeError

    with pytest.raises(ConfigTypeError):
        encode_results({}, indent="  ")  # type: ignore[arg-type]


def test_encoded_results_shape() -> None:
    enc = encode_results({"a": 1})
    assert isinstance(enc, EncodedResults)
    assert enc.data == b'{\n  "a": 1\n}\n'
    assert enc.warnings == []


def test_warnings_are_capped() -> None:
    enc = encode_results({f"k{i}": {"x": math.nan} for i in range(80)})
    assert len(enc.warnings) == 51
    assert enc.warnings[-1] == "... and 30 more lossy conversions"


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------


def test_serialize_results_to_file(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "results.json"
    meta = serialize_results_to_file({"x": np.array([1.0, np.nan])}, str(target))
    assert meta == {
        "success": True,
        "file_path": str(target),
        "error": None,
        "serialization_warnings": ["results.x: NaN written as null"],
    }
    assert strict_loads(target.read_bytes()) == {"x": [1.0, None]}
    assert load_results(target) == {"x": [1.0, None]}
    assert os.listdir(tmp_path) == ["results.json"]  # no temporary file left behind


def test_serialize_results_to_file_overwrites_whole(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "results.json"
    serialize_results_to_file({"long": "x" * 10_000}, target)
    serialize_results_to_file({"short": 1}, target, indent=None)
    assert target.read_bytes() == b'{"short":1}\n'


def test_serialize_results_to_file_failure_metadata(tmp_path: pathlib.Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    target = str(blocker / "results.json")
    meta = serialize_results_to_file({"a": 1}, target)
    assert meta["success"] is False
    assert meta["file_path"] == target
    assert meta["error"]
    assert meta["error_type"]
    assert "fallback_error" in meta
    assert "fallback_saved" not in meta
    assert blocker.read_text() == "not a folder"


def test_serialize_results_to_memory_url() -> None:
    url = "memory://pyexec-serialization-test/run/results.json"
    meta = serialize_results_to_file({"big": 2**80, "c": 1j}, url)
    assert meta["success"] is True, meta
    assert load_results(url) == {"big": 2**80, "c": cplx(0.0, 1.0)}


def test_decode_results_keeps_big_ints_exact() -> None:
    assert decode_results(b'{"a": 123456789012345678901234567890, "b": 1.5}') == {
        "a": 123456789012345678901234567890,
        "b": 1.5,
    }
    assert decode_results(b'{"a": "12345678901234567890123"}') == {"a": "12345678901234567890123"}


def test_decode_results_round_trips_every_int_written() -> None:
    # 19 digits below the int64 range, and up to the interpreter's digit limit
    bound = sys.get_int_max_str_digits()
    for value in (-(2**63) - 1, -(10**19) + 1, 10**bound - 1, -(7**5000)):
        assert decode_results(encode_results({"x": value}).data) == {"x": value}
        assert decode_results(encode_results([value], indent=None).data.decode()) == [value]
    with pytest.raises(orjson.JSONDecodeError):
        decode_results(b'{"a": 1,}')


def test_orjson_fragments() -> None:
    import orjson

    good = orjson.Fragment(b'{"a":[1,2]}')
    bad = orjson.Fragment(b"not json")
    enc = encode_results({"good": good, "bad": bad}, indent=None)
    data = strict_loads(enc.data)
    assert data["good"] == {"a": [1, 2]}
    assert data["bad"]["_serialization_note"] == "converted_to_string"
    assert _Encoder().plain({"good": good, "bad": bad}) == data


# ---- regressions ---------------------------------------------------------------


def _original(value: Any) -> Any:
    """What the original wrote for ``value``, parsed (benchmarks/seed_baseline.py)."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import seed_baseline
    finally:
        sys.path.pop(0)
    return seed_baseline.make_json_serializable(value)


def test_runaway_conversions_of_one_value_are_bounded() -> None:
    import time
    from unittest import mock

    class NewEachTime:
        def __getattr__(self, name: str) -> Any:
            return lambda: NewEachTime()

        def __str__(self) -> str:
            return "new-each-time"

    start = time.perf_counter()
    enc = encode_results({"a": mock.MagicMock(), "b": NewEachTime(), "c": 1})
    assert time.perf_counter() - start < 30  # bounded: an unbounded chain never ends
    data = strict_loads(enc.data)
    assert data["a"]["type"] == "MagicMock"
    assert data["a"]["_serialization_note"] == "converted_to_string"
    assert data["b"] == string_record("new-each-time", "NewEachTime", __name__)
    assert data["c"] == 1
    assert any(w.startswith("results.a: MagicMock written as its string") for w in enc.warnings)
    assert _Encoder().plain({"b": NewEachTime()}) == {"b": data["b"]}
    assert make_json_serializable([NewEachTime()]) == [data["b"]]


@pytest.mark.parametrize(
    "value",
    [
        {"t": np.array(["10000-01-01"], "datetime64[s]"), "other": 1},
        {"t": np.array([100000], "datetime64[Y]")},
        {"t": np.array(["-0001-01-01", "NaT"], "datetime64[D]")},
        {"t": np.array([-(2**62)], "datetime64[us]")},
        {"t": np.array([["10000-01", "NaT"], ["-0005-03", "NaT"]], "datetime64[M]")},
        {"t": np.datetime64("10000-01-01", "s"), "u": [np.datetime64(200000, "Y")]},
    ],
)
def test_out_of_range_datetime64_written_as_the_original(value: Any) -> None:
    enc = encode_results(value)
    assert strict_loads(enc.data) == _original(value)
    assert any("outside orjson's range" in w for w in enc.warnings)
    assert _Encoder().plain(value) == _original(value)


def test_out_of_range_datetime64_next_to_valid_values() -> None:
    arr = np.array(["10000-01-01", "2024-01-02T03:04:05"], "datetime64[s]")
    assert out({"t": arr}) == {"t": [253402300800, "2024-01-02T03:04:05"]}


@pytest.mark.parametrize(
    "value",
    [
        {1: "a", "1": "b"},
        {"1": "a", 1: "b"},
        {True: "a", "x": 0, "true": "b"},
        {None: "a", "null": "b", 2: "c"},
        {"k": [{False: 1, "false": 2}]},
    ],
)
def test_colliding_keys_keep_the_last_value_as_the_original(value: Any) -> None:
    expected = _original(value)
    for indent in (2, None, 4):
        enc = encode_results(value, indent=indent)
        assert strict_loads(enc.data) == expected
        assert list(json.loads(enc.data, object_pairs_hook=list)) == list(
            json.loads(json.dumps(expected), object_pairs_hook=list)
        )
    assert any("duplicate key" in w for w in encode_results(value).warnings)
    assert _Encoder().plain(value) == expected


def test_decode_results_reads_any_depth_it_writes() -> None:
    deep: Any = "leaf"
    for _ in range(2000):
        deep = [{"k": deep}]
    for value in (deep, [deep, 2**70], {"x": -(2**80), "d": deep}):
        for indent in (2, None):
            data = encode_results(value, indent=indent).data
            for doc in (data, data.decode()):
                parsed = decode_results(doc)
                assert encode_results(parsed, indent=indent).data == data
    with pytest.raises(ValueError):
        decode_results(b"[" * 3000 + b"1,]" + b"]" * 2999)


def test_load_results_reads_deep_documents(tmp_path: pathlib.Path) -> None:
    deep: Any = [2**70]
    for _ in range(1500):
        deep = [deep]
    path = tmp_path / "results.json"
    assert serialize_results_to_file(deep, str(path))["success"] is True
    assert encode_results(load_results(str(path))).data == path.read_bytes()


def test_top_level_exports() -> None:
    import pyexec_store

    assert pyexec_store.encode_results is encode_results
    assert pyexec_store.decode_results is decode_results
    assert pyexec_store.load_results is load_results
    assert {"encode_results", "decode_results", "load_results"} <= set(pyexec_store.__all__)
