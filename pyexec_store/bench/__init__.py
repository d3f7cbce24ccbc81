"""Benchmark stores with whole executions: ``pyexec-store bench`` as a library.

>>> from pyexec_store.bench import Workload, bench
>>> reports = bench(["memory://try", "/tmp/store"], workload=Workload(executions=5))
>>> reports[0].to_json()["runs"][0]["latency_ms"]["p50"]  # doctest: +SKIP
0.61

Each store gets a fresh prefix (deleted afterwards), one writer then several
at once, and a :class:`StoreReport`: latency percentiles, executions per
second, the median cost of each call, bytes and objects written, and on S3 the
requests sent by operation, counted on the client.
"""

from __future__ import annotations

from .parallel import BenchError
from .requests import RequestCounter, request_counter
from .runner import bench, fresh_prefix, options_for
from .stats import Run, StoreReport, percentile
from .workload import (
    OPERATIONS,
    ExecutionSample,
    Payload,
    Workload,
    WriteTally,
    parse_size,
    payload,
    run_execution,
)

__all__ = [
    "OPERATIONS",
    "BenchError",
    "ExecutionSample",
    "Payload",
    "RequestCounter",
    "Run",
    "StoreReport",
    "Workload",
    "WriteTally",
    "bench",
    "fresh_prefix",
    "options_for",
    "parse_size",
    "payload",
    "percentile",
    "request_counter",
    "run_execution",
]
