"""The results entry points (results/__init__.py) and the conversion policy (convert.py):
layouts, bounds at their edges, records, and the warning line of every lossy step."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

import numpy as np
import orjson
import pytest

import pyexec_store as ps
from pyexec_store import results
from pyexec_store.results import decode_results, encode_results, make_json_serializable

BIG = 2**70  # beyond 64 bits: the exact walker writes it
VALUE = {"a": [1, {"b": None}], "c": "ü"}


def compact(value: Any) -> tuple[Any, list[str]]:
    encoded = encode_results(value, indent=None)
    return orjson.loads(encoded.data), encoded.warnings


@pytest.mark.parametrize("indent", [None, 0, 2, 4])
@pytest.mark.parametrize("value", [VALUE, {**VALUE, "big": BIG}], ids=["fast", "exact"])
def test_every_indent_is_laid_out_as_the_stdlib_does(value: Any, indent: int | None) -> None:
    expected = json.dumps(value, indent=indent, ensure_ascii=False)
    if indent is None:
        expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert encode_results(value, indent=indent).data == expected.encode() + b"\n"


def test_an_int_subclass_is_an_indent_and_a_bool_is_not() -> None:
    class Four(int):
        pass

    assert encode_results([1], indent=Four(4)).data == b"[\n    1\n]\n"
    for bad in (True, 1.5, "2"):
        with pytest.raises(ps.ConfigTypeError, match="indent must be an int or None"):
            encode_results([1], indent=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [VALUE, {**VALUE, "big": BIG}], ids=["fast", "exact"])
def test_max_bytes_is_inclusive(value: Any) -> None:
    data = encode_results(value).data
    assert encode_results(value, max_bytes=len(data)).data == data
    smaller = encode_results(value, max_bytes=len(data) - 1)
    assert orjson.loads(smaller.data)["_serialization_failed"] is True
    assert smaller.warnings == [
        f"results: document larger than max_bytes={len(data) - 1} (at least {len(data)} bytes); "
        "written as a _serialization_failed record"
    ]


def test_max_bytes_zero_refuses_every_document_and_negative_is_an_error() -> None:
    record = orjson.loads(encode_results(1, max_bytes=0).data)
    assert record["_error"] == "document larger than 0 bytes (max_bytes)"
    with pytest.raises(ps.ConfigError, match="max_bytes must be >= 0"):
        encode_results(1, max_bytes=-1)


def test_a_record_has_the_layout_asked_for() -> None:
    indented = encode_results({"a": "x" * 50}, max_bytes=10)
    assert indented.data.startswith(b'{\n  "_serialization_failed": true,\n')
    flat = encode_results({"a": "x" * 50}, max_bytes=10, indent=None)
    assert flat.data.startswith(b'{"_serialization_failed":true,"_original_type":"dict",')
    assert flat.data.endswith(b"}\n") and b"\n" not in flat.data[:-1]


def test_make_json_serializable_keeps_big_ints_and_honours_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert make_json_serializable({"big": BIG, "n": [np.int64(3)]}) == {"big": BIG, "n": [3]}
    monkeypatch.setattr(results, "MAX_BYTES", 10)
    for value in ({"a": "x" * 50}, {"a": "x" * 50, "big": BIG}):
        record = make_json_serializable(value)
        assert record["_serialization_failed"] is True
        assert record["_original_type"] == "dict"
        assert record["_error"] == "document larger than 10 bytes (max_bytes)"


def test_a_str_with_a_lone_surrogate_is_invalid_json() -> None:
    with pytest.raises(orjson.JSONDecodeError):
        decode_results('"\ud800"')


# -- the conversion policy -----------------------------------------------------


def test_keys_the_original_could_write_are_not_warned_about() -> None:
    assert compact({True: 1, None: 2, 1.5: 3, 7: 4, "s": 5}) == (
        {"true": 1, "null": 2, "1.5": 3, "7": 4, "s": 5},
        [],
    )


class Colour(enum.Enum):
    RED = "red"


def test_keys_the_original_refused_are_written_and_warned_about() -> None:
    huge = 10**5000
    value, warnings = compact(
        {
            np.True_: 1,
            np.datetime64("2026-01-02"): 2,
            Colour.RED: 3,
            huge: 4,
        }
    )
    assert value == {"true": 1, "2026-01-02T00:00:00": 2, "red": 3, hex(huge): 4}
    assert warnings == [
        "results: 1 key of type bool written as string",
        "results: 1 key of type datetime64 written as string",
        "results: 1 key of type Colour written as string",
        "results: 1 key of type int written as string",
    ]


def test_duplicate_keys_keep_the_last_value_and_say_how_many() -> None:
    assert compact({1: "a", "1": "b"}) == (
        {"1": "b"},
        ["results: 1 duplicate key as JSON text; the last value kept, as the original"],
    )
    assert compact({1: "a", "1": "b", 2: "c", "2": "d"}) == (
        {"1": "b", "2": "d"},
        ["results: 2 duplicate keys as JSON text; the last value kept, as the original"],
    )
    assert compact({1: "a", 2: "b"}) == ({"1": "a", "2": "b"}, [])


def test_extended_precision_is_narrowed_with_a_warning() -> None:
    value, warnings = compact(
        {"x": np.longdouble(1.5), "z": np.clongdouble(1 + 2j), "c": np.complex128(1 + 2j)}
    )
    complex_record = {"real": 1.0, "imag": 2.0, "_type": "complex"}
    assert value == {"x": 1.5, "z": complex_record, "c": complex_record}
    assert warnings == [
        f"results.x: {np.dtype(np.longdouble)} narrowed to 64-bit floats",
        f"results.z: {np.dtype(np.clongdouble)} narrowed to 64-bit floats",
    ]


class TolistFails:
    def tolist(self) -> list[int]:
        raise RuntimeError("no")


@dataclasses.dataclass
class Point:
    x: int


def test_string_records_say_why() -> None:
    broken = Point(1)
    del broken.x  # reading the field raises while converting
    value, warnings = compact({"o": object(), "t": TolistFails(), "p": broken, "r": range(2)})
    assert value["r"] == {
        "value": "range(0, 2)",
        "type": "range",
        "module": "builtins",
        "_serialization_note": "converted_to_string",
    }
    assert value["t"]["type"] == "TolistFails" and value["p"]["type"] == "Point"
    assert warnings == [
        "results.o: object written as its string",
        "results.t: TolistFails written as its string (tolist() raised RuntimeError)",
        "results.p: Point written as its string (AttributeError while converting it)",
        "results.r: range written as its string",
    ]
