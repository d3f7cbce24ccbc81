"""Measuring contenders side by side: alternating rounds, medians, traced peaks, CPU time."""

from __future__ import annotations

import gc
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable, Mapping
from typing import Any

from pyexec_store.bench import percentile


def interleaved(
    contenders: Mapping[str, Callable[[], Any]],
    rounds: int,
    calls: Mapping[str, int] | int,
    prepare: Mapping[str, Callable[[], Any]] | None = None,
) -> dict[str, list[float]]:
    """Seconds of every call of each contender, the contenders taking turns.

    Each contender is called once first to warm up. Then, for ``rounds``
    rounds, each contender makes its ``calls`` calls in turn; the order
    rotates from round to round so that no contender always follows the same
    one. A noisy machine slows all of them alike. ``prepare[name]``, if
    given, runs before each call of that contender, outside the clock.
    """
    prepare = prepare or {}
    names = list(contenders)
    for name in names:
        if name in prepare:
            prepare[name]()
        contenders[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            fn = contenders[name]
            n = calls if isinstance(calls, int) else calls[name]
            for _ in range(n):
                if name in prepare:
                    prepare[name]()
                started = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - started)
    return times


def summary(seconds: list[float]) -> dict[str, float]:
    """Median, p95 and count of a list of call times, in milliseconds."""
    return {
        "median_ms": round(statistics.median(seconds) * 1000, 4),
        "p95_ms": round(percentile(seconds, 95) * 1000, 4),
        "calls": len(seconds),
    }


def traced_peak(fn: Callable[[], Any]) -> int:
    """Bytes of the peak of Python allocations while ``fn`` runs (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) process ``pid`` has used so far (Linux)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_call(fn: Callable[[], Any], calls: int) -> float:
    """Milliseconds of this process's CPU time (user and system, every thread) per call."""
    started = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - started) * 1000 / calls
