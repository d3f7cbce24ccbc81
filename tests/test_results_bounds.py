"""Hostile results: every warning is one line.

Time and memory bounds here are generous (seconds, tens or hundreds of MB);
the exact figures are in ``benchmarks/bench_serialization.py``.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pyexec_store.results import encode_results


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
