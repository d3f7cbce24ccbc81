"""Hostile results: bounded integers, depth, size; credential-carrying objects; clean warnings;
fast reads of big documents.

Time and memory bounds here are generous (seconds, tens or hundreds of MB);
the exact figures are in ``benchmarks/bench_serialization.py``.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import orjson
import pytest

from pyexec_store.errors import ConfigError, ConfigTypeError
from pyexec_store.results import (
    INT_DIGITS_IF_UNLIMITED,
    MAX_BYTES,
    MAX_DEPTH,
    decode_results,
    encode_results,
    make_json_serializable,
    max_int_digits,
)
from pyexec_store.results._text import bounded_str
from pyexec_store.results.scan import holds_huge_floats, may_hold_big_ints, nesting_depth


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"not RFC 8259 JSON: {name}")


def strict_loads(data: bytes) -> Any:
    return json.loads(data, parse_constant=_reject_constant)


def measured(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    """``fn()``, the seconds it took and its peak traced memory in bytes."""
    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    try:
        value = fn()
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return value, seconds, peak


def raised(fn: Callable[[], Any]) -> Callable[[], BaseException]:
    def call() -> BaseException:
        with pytest.raises(ValueError) as info:
            fn()
        return info.value

    return call


@pytest.fixture
def digit_limit() -> Iterator[Callable[[int], None]]:
    old = sys.get_int_max_str_digits()
    yield sys.set_int_max_str_digits
    sys.set_int_max_str_digits(old)


def shared(levels: int) -> list[Any]:
    """``[a, a]`` nested ``levels`` times: 2**levels leaves in 2 * levels list slots."""
    a: list[Any] = [1]
    for _ in range(levels):
        a = [a, a]
    return a


MB = 1 << 20


# ---------------------------------------------------------------------------
# e. every warning is one line
# ---------------------------------------------------------------------------


class BadToList:
    def tolist(self) -> Any:
        raise ValueError("first line\nERROR forged line\r\x1b[31mred\x85")


def test_warnings_escape_control_characters(caplog: pytest.LogCaptureFixture) -> None:
    key = "a\nWARNING forged: b\r\x1b[2J\u2028\x7f\ud800"
    enc = encode_results({key: float("nan"), "x": BadToList(), (1, "\n"): 1})
    assert len(enc.warnings) == 3
    for warning in enc.warnings:
        assert warning.isprintable(), warning
        warning.encode("utf-8")
    assert (
        "results.a\\nWARNING forged: b\\r\\x1b[2J\\u2028\\x7f\\ud800: NaN written as null"
    ) in enc.warnings
    assert any("first line\\nERROR forged line\\r\\x1b[31mred\\x85" in w for w in enc.warnings)
    with caplog.at_level(logging.WARNING):
        for warning in enc.warnings:
            logging.getLogger("t").warning("results.json: %s", warning)
    assert all("\n" not in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------------------
# d. credential-carrying objects: their type name only
# ---------------------------------------------------------------------------

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"


def credential_objects() -> dict[str, Any]:
    import boto3
    import fsspec
    import s3fs
    from aiobotocore.session import get_session

    session = boto3.Session(
        aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, region_name="us-east-1"
    )
    return {
        "s3fs": s3fs.S3FileSystem(key=KEY_ID, secret=SECRET, endpoint_url="http://127.0.0.1:9"),
        "mapper": fsspec.get_mapper("memory://creds-test"),
        "client": session.client("s3"),
        "session": session,
        "resource": session.resource("s3"),
        "credentials": session.get_credentials(),
        "aio": get_session(),
    }


@dataclasses.dataclass
class Job:
    name: str
    fs: Any


def test_credential_objects_are_written_as_their_type_name() -> None:
    objects = credential_objects()
    assert SECRET in json.dumps(objects["s3fs"].to_dict())  # what the original wrote
    value = {
        **objects,
        "nested": [Job("j", objects["s3fs"])],
        "array": np.array([objects["client"]], dtype=object),
        "as_key": {objects["session"]: 1},
    }
    for enc in (encode_results(value), encode_results({"s": "\ud800", **value})):
        assert SECRET.encode() not in enc.data and KEY_ID.encode() not in enc.data
        assert not any(SECRET in w or KEY_ID in w for w in enc.warnings)
        data = strict_loads(enc.data)
        assert data["s3fs"] == {
            "value": "S3FileSystem",
            "type": "S3FileSystem",
            "module": "s3fs.core",
            "_serialization_note": "converted_to_string",
            "_note": "may carry credentials: only its type is written",
        }
        assert data["nested"][0]["fs"]["value"] == "S3FileSystem"
        assert data["array"][0]["value"] == "S3"
        assert data["as_key"] == {"Session": 1}
        for name in ("mapper", "client", "session", "resource", "credentials", "aio"):
            assert data[name]["_note"].startswith("may carry credentials"), name
        assert "results.s3fs: S3FileSystem may carry credentials" in enc.warnings[0]
    plain = make_json_serializable(value)
    assert SECRET not in json.dumps(plain)


def test_credential_check_imports_nothing() -> None:
    code = (
        "import sys\n"
        "from pyexec_store.results import encode_results\n"
        "class Widget: pass\n"
        "encode_results({'w': Widget(), 'e': ValueError('x')})\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'aiobotocore', 's3fs') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_values_convert_the_same_without_numpy() -> None:
    # numpy is looked at only once imported: a process without it converts as usual.
    code = (
        "import datetime, sys\n"
        "from pyexec_store.results import encode_results\n"
        "enc = encode_results({'e': ValueError('x'), 's': {1}, 'd': datetime.date(2026, 1, 2)})\n"
        "assert 'numpy' not in sys.modules\n"
        "sys.stdout.buffer.write(enc.data)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert json.loads(out.stdout) == {
        "e": {
            "value": "x",
            "type": "ValueError",
            "module": "builtins",
            "_serialization_note": "converted_to_string",
        },
        "s": {"items": [1], "_type": "set"},
        "d": "2026-01-02",
    }


# ---------------------------------------------------------------------------
# a. integers: exact up to the digit bound, in bounded time beyond it
# ---------------------------------------------------------------------------


def test_huge_int_is_written_as_a_string_record_fast() -> None:
    n = 10 ** (10**6)
    enc, seconds, _ = measured(lambda: encode_results({"x": n, "k": {n: 1}, "ok": 2}))
    assert seconds < 10  # the original spent 16 s in decimal conversion
    data = strict_loads(enc.data)
    assert data["x"] == {
        "value": hex(n),
        "type": "int",
        "module": "builtins",
        "_serialization_note": "converted_to_string",
    }
    assert int(data["x"]["value"], 16) == n  # nothing is lost
    assert data["k"] == {hex(n): 1}
    assert data["ok"] == 2
    bound = max_int_digits()
    assert enc.warnings[0].startswith("results.x: int of about 100000")
    assert enc.warnings[0].endswith(
        f"digits (more than {bound}) written as a string record of its hexadecimal digits"
    )


def test_huge_int_is_refused_when_read_fast() -> None:
    for doc in (b"1" * 10**6, b'{"a": [-' + b"7" * 10**6 + b"]}"):
        error, seconds, _ = measured(raised(lambda doc=doc: decode_results(doc)))
        assert seconds < 10  # the original spent 33 s
        assert "1000000 digits" in str(error)
        assert str(max_int_digits()) in str(error)


def test_the_digit_bound_is_the_interpreters(digit_limit: Callable[[int], None]) -> None:
    digit_limit(5000)
    assert max_int_digits() == 5000
    n = 10**4999
    assert encode_results(n, indent=None).data == b"1" + b"0" * 4999 + b"\n"
    assert decode_results(b"1" + b"0" * 4999) == n
    assert strict_loads(encode_results(n * 10).data)["type"] == "int"
    digit_limit(0)  # unlimited: a documented bound instead
    assert max_int_digits() == INT_DIGITS_IF_UNLIMITED
    assert decode_results(encode_results([10**40000]).data) == [10**40000]
    assert strict_loads(encode_results(10**60000).data)["type"] == "int"
    with pytest.raises(ValueError, match=str(INT_DIGITS_IF_UNLIMITED)):
        decode_results(b"9" * 60001)


@pytest.mark.parametrize("extra", [0, 1])
def test_digit_bound_is_exact(extra: int) -> None:
    bound = max_int_digits()
    for n in (10 ** (bound - 1 + extra), 10 ** (bound + extra) - 1, -(10 ** (bound + extra) - 1)):
        written = strict_loads(encode_results([n]).data)[0]
        assert (written == n) is (extra == 0)


# ---------------------------------------------------------------------------
# b. depth: documents deeper than MAX_DEPTH are refused before being parsed
# ---------------------------------------------------------------------------


def test_deep_document_is_refused_early() -> None:
    error, seconds, peak = measured(raised(lambda: decode_results(b"[" * 5_000_000)))
    assert "deeper than 100000" in str(error)
    assert seconds < 10  # the original: 14.5 s and 1.08 GB
    assert peak < 150 * MB


def test_depth_counts_brackets_outside_strings_only() -> None:
    inside = '"' + "[{" * 200_000 + '\\"]"'
    doc = "[" * 2000 + inside + "]" * 2000
    assert decode_results(doc) is not None
    assert nesting_depth(doc.encode(), MAX_DEPTH) == 2000
    assert decode_results("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(ValueError, match="deeper than"):
        decode_results("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


# ---------------------------------------------------------------------------
# c. size: a documented bound, found without unfolding shared structures
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [30, 60])
def test_shared_structure_is_measured_not_unfolded(levels: int) -> None:
    value = shared(levels)
    for make in (
        lambda: value,
        lambda: {"x": value, "y": 1},
        lambda: [value] * 64,  # large containers are checked in bulk: not there either
        lambda: [{"x": value} for _ in range(64)],
    ):
        enc, seconds, peak = measured(lambda make=make: encode_results(make()))
        assert seconds < 5
        assert peak < 100 * MB
        record = strict_loads(enc.data)
        assert record["_serialization_failed"] is True
        assert record["_error"] == f"document larger than {MAX_BYTES} bytes (max_bytes)"
        assert len(record["_string_representation"]) <= 100_003
        assert len(enc.warnings) == 1
        assert enc.warnings[0].startswith(f"results: document larger than max_bytes={MAX_BYTES}")
    plain, seconds, peak = measured(lambda: make_json_serializable(value))
    assert plain["_serialization_failed"] is True
    assert seconds < 5 and peak < 100 * MB


def test_exact_path_is_bounded_too() -> None:
    # a lone surrogate sends the whole document the exact way
    value = {"s": "\ud800", "deep": shared(40)}
    enc, seconds, peak = measured(lambda: encode_results(value))
    assert strict_loads(enc.data)["_serialization_failed"] is True
    assert seconds < 5 and peak < 100 * MB


def test_repeated_long_strings_are_measured() -> None:
    long = "x" * MB
    for value in ([long] * 2000, {"a": [long] * 20}):
        enc = encode_results(value, max_bytes=10 * MB)
        assert strict_loads(enc.data)["_serialization_failed"] is True


def test_max_bytes_keyword_and_exact_size() -> None:
    value = {"a": list(range(100))}
    size = len(encode_results(value).data)
    assert encode_results(value, max_bytes=size).data == encode_results(value).data
    assert strict_loads(encode_results(value, max_bytes=size - 1).data)["_error"] == (
        f"document larger than {size - 1} bytes (max_bytes)"
    )
    assert encode_results(value, max_bytes=None).data == encode_results(value).data
    with pytest.raises(ConfigTypeError):
        encode_results(value, max_bytes="1")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        encode_results(value, max_bytes=-1)


def test_module_constant_sets_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyexec_store.results as results

    monkeypatch.setattr(results, "MAX_BYTES", 1000)
    assert strict_loads(encode_results(["x" * 2000]).data)["_serialization_failed"] is True
    assert encode_results(["x" * 900]).warnings == []


def test_shared_values_within_the_bound_are_written_at_each_place() -> None:
    # past MEMO_AFTER bytes containers are remembered: a shared one is written again,
    # not walked again, and gives the same document as unshared copies
    row = {"v": [1.5, float("nan"), np.float32(0.5)], "k": {1: "a"}, "t": (1, 2)}
    value = {"pad": "p" * 100_000, "rows": [row] * 3000, "deep": shared(12)}
    copies = json.loads(json.dumps(value, default=str))  # unshared, same shape
    enc = encode_results(value)
    data = strict_loads(enc.data)
    assert data["rows"] == [{"v": [1.5, None, 0.5], "k": {"1": "a"}, "t": [1, 2]}] * 3000
    assert data["deep"] == copies["deep"]
    exact = make_json_serializable({"s": "\ud800", **value})
    assert exact["rows"] == data["rows"] and exact["deep"] == data["deep"]


def test_bounded_str_is_str_when_small() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    selfish: dict[str, Any] = {"a": (1,)}
    selfish["me"] = selfish
    tuple_loop: tuple[Any, ...] = ([],)
    tuple_loop[0].append(tuple_loop)
    for value in (
        [1, "a", None, (2,), (), {"k": {1.5, 2}}, frozenset(), set(), frozenset({3})],
        {"x": [{"y": ("z", b"b")}], (1, 2): {}},
        loop,
        selfish,
        tuple_loop,
        "plain",
        3,
    ):
        assert bounded_str(value) == str(value)
    text = bounded_str(shared(60), limit=1000)
    assert len(text) == 1003 and text.endswith("...")


# ---------------------------------------------------------------------------
# f. big documents read at orjson speed; encoding keeps no extra copies
# ---------------------------------------------------------------------------


def test_decode_of_a_big_float_document_is_close_to_orjson() -> None:
    data = encode_results({"a": np.random.default_rng(0).standard_normal(2_000_000)}).data
    timings: dict[str, list[float]] = {"orjson": [], "decode": []}
    for _ in range(5):
        for name, fn in (("orjson", orjson.loads), ("decode", decode_results)):
            gc.collect()
            start = time.perf_counter()
            fn(data)
            timings[name].append(time.perf_counter() - start)
    # the regex pre-scan made it about 10x; the benchmark has the exact ratio
    assert min(timings["decode"]) < 2 * min(timings["orjson"])


def test_encode_keeps_no_copy_of_a_big_document() -> None:
    arr = np.random.default_rng(0).standard_normal(3_000_000)
    solo, _, orjson_peak = measured(
        lambda: orjson.dumps({"a": arr}, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_INDENT_2)
    )
    enc, _, peak = measured(lambda: encode_results({"a": arr}))
    assert enc.data == solo + b"\n"
    # all of it is orjson's own output buffer (which grows by doubling)
    assert peak < orjson_peak + 2 * arr.nbytes


def test_big_int_scans() -> None:
    cases = {
        b"12345678901234567890": True,
        b"1234567890123456789": False,
        b"[-1234567890123456789]": True,
        b"[-123456789012345678]": False,
        b'{"a":18446744073709551616}': True,
        b"[0.12345678901234567890123]": False,
        b"[12345678901234567890.5]": False,
        b"[1.5e-1234567890123456789]": True,  # a false alarm: parsed exactly, same value
        b'"x12345678901234567890123"': False,
        b'["a", 123456789012345678901234]': True,
    }
    for doc, expected in cases.items():
        assert may_hold_big_ints(doc) is expected, doc
    chunked = b"[" + b"1.5, " * 3_000_000 + b"123456789012345678901234]"
    assert may_hold_big_ints(chunked) is True
    assert decode_results(chunked)[-1] == 123456789012345678901234
    assert holds_huge_floats(orjson.loads(b'[1, [2.5, {"a": 1e19}]]'), 100) is True
    assert holds_huge_floats(orjson.loads(b'[1, [2.5, {"a": 1e18}]]'), 100) is False
    assert holds_huge_floats([[1.5] * 10] * 100, 10) is None
    assert decode_results(b"[1e19, 2.5]") == [1e19, 2.5]
