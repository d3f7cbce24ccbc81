"""Benchmark figures: percentiles, runs and per-store reports, as JSON (pure logic)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .workload import OPERATIONS, ExecutionSample, Workload


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolated linearly between ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def milliseconds(seconds: float) -> float:
    """``seconds`` in milliseconds, to the microsecond."""
    return round(seconds * 1000, 3)


@dataclass
class Run:
    """Executions run on one store by ``workers`` writers at once."""

    workers: int
    mode: str
    """``in-process`` (one writer), ``processes`` or ``threads``."""
    seconds: float
    """Wall time from the start of the first execution to the end of the last."""
    samples: list[ExecutionSample]

    @property
    def executions(self) -> int:
        return len(self.samples)

    @property
    def executions_per_second(self) -> float:
        return self.executions / self.seconds if self.seconds > 0 else math.nan

    def latency(self, q: float) -> float:
        """The ``q``-th percentile of the executions' latency, in seconds."""
        return percentile([s.seconds for s in self.samples], q)

    def to_json(self) -> dict[str, Any]:
        latencies = [s.seconds for s in self.samples]
        return {
            "workers": self.workers,
            "mode": self.mode,
            "executions": self.executions,
            "seconds": round(self.seconds, 6),
            "executions_per_second": round(self.executions_per_second, 3),
            "latency_ms": {
                "p50": milliseconds(self.latency(50)),
                "p95": milliseconds(self.latency(95)),
                "p99": milliseconds(self.latency(99)),
                "mean": milliseconds(statistics.fmean(latencies)),
                "min": milliseconds(min(latencies)),
                "max": milliseconds(max(latencies)),
            },
        }


@dataclass
class StoreReport:
    """Everything measured on one store."""

    url: str
    """The store as given."""
    written_under: str
    """The fresh prefix the executions were written under."""
    backend: str
    """The backend's protocol (``file``, ``memory``, ``s3``, …)."""
    workload: Workload
    runs: list[Run] = field(default_factory=list)
    kept: bool = False
    counts_requests: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def samples(self) -> list[ExecutionSample]:
        return [s for run in self.runs for s in run.samples]

    def operations(self) -> dict[str, float]:
        """Median seconds of each call, from the run with the fewest workers."""
        if not self.runs:
            return {}
        run = min(self.runs, key=lambda r: r.workers)
        found: dict[str, list[float]] = {}
        for sample in run.samples:
            for name, times in sample.operations.items():
                found.setdefault(name, []).extend(times)
        return {name: statistics.median(found[name]) for name in OPERATIONS if name in found}

    def per_execution(self, attribute: str) -> float:
        """The mean of a sample attribute (``bytes_written``, ``objects_written``)."""
        samples = self.samples
        return statistics.fmean(getattr(s, attribute) for s in samples) if samples else math.nan

    def requests(self) -> dict[str, float] | None:
        """Requests per execution, by operation; ``None`` where they are not counted."""
        if not self.counts_requests:
            return None
        samples = self.samples
        total: dict[str, int] = {}
        for sample in samples:
            for name, count in sample.requests.items():
                total[name] = total.get(name, 0) + count
        return {name: total[name] / len(samples) for name in sorted(total)} if samples else {}

    def to_json(self) -> dict[str, Any]:
        requests = self.requests()
        return {
            "url": self.url,
            "written_under": self.written_under,
            "kept": self.kept,
            "backend": self.backend,
            "workload": self.workload.to_json(),
            "runs": [run.to_json() for run in self.runs],
            "operations_ms": {k: milliseconds(v) for k, v in self.operations().items()},
            "bytes_written_per_execution": round(self.per_execution("bytes_written"), 1),
            "objects_written_per_execution": round(self.per_execution("objects_written"), 3),
            "requests_per_execution": (
                None if requests is None else {k: round(v, 3) for k, v in requests.items()}
            ),
            "notes": list(self.notes),
        }
