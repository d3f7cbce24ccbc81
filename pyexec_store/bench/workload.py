"""One benchmark execution: what it writes, and running it with every call timed.

An execution is what an executor does for a run: claim the folder, save the
context, write the attempt notebooks, save the results, save the figures,
write the final notebook, record the outcome. The payload is built once,
deterministically, so every store and every worker writes the same bytes.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..backends import Backend, WriteItem
from ..errors import ConfigError, ConfigTypeError, StorageError
from ..results import encode_results
from ..store import ArtifactStore
from ..writing import PNG_MAGIC

#: The store calls of one execution, in the order they are made.
OPERATIONS = (
    "create_execution",
    "save_context",
    "create_attempt_notebook",
    "save_results",
    "save_figures",
    "create_final_notebook",
    "finish_execution",
)

_SIZE = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[kmg]i?)?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "ki": 2**10, "mi": 2**20, "gi": 2**30}

CODE = """\
import numpy as np
import matplotlib.pyplot as plt

readings = np.loadtxt("sensor.csv", delimiter=",")
mean, std = readings.mean(axis=0), readings.std(axis=0)
anomalies = np.abs(readings - mean) > 3 * std
fig, ax = plt.subplots()
ax.plot(readings[:, 0], label="T-101")
ax.legend()
results = {"mean": mean.tolist(), "std": std.tolist(), "anomalies": int(anomalies.sum())}
"""


def parse_size(text: str | int) -> int:
    """Bytes in a size such as ``"1MB"``, ``"30 MB"``, ``"512KiB"`` or ``2048``.

    ``KB``, ``MB``, ``GB`` are powers of 1000; ``KiB``, ``MiB``, ``GiB`` of 1024.

    Raises
    ------
    ConfigError
        For text that is no size, or a negative number.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise ConfigTypeError(f"a size must be a str or int, not {type(text).__name__}")
    if isinstance(text, int):
        if text < 0:
            raise ConfigError(f"a size cannot be negative: {text}")
        return text
    match = _SIZE.match(text)
    if match is None:
        raise ConfigError(f"{text!r} is not a size (say 1KB, 30MB or 512KiB)")
    return int(float(match["n"]) * _UNITS[(match["unit"] or "").lower()])


@dataclass(frozen=True)
class Workload:
    """What each benchmark execution writes.

    Parameters
    ----------
    executions
        Executions per store and per concurrency level.
    attempts
        Attempt notebooks per execution (all but the last carry an error context).
    results_size
        Bytes of ``results.json`` (a list of floats of about that size).
    figures
        Figures per execution, saved together as an executor does.
    figure_size
        Bytes of each figure (a PNG signature, then incompressible bytes).
    """

    executions: int = 20
    attempts: int = 3
    results_size: int = 1_000
    figures: int = 2
    figure_size: int = 20_000

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigTypeError(f"{name} must be an int, not {type(value).__name__}")
            if value < 0:
                raise ConfigError(f"{name} cannot be negative: {value}")
        if self.executions < 1:
            raise ConfigError("executions must be at least 1")
        if self.figures and self.figure_size < len(PNG_MAGIC):
            raise ConfigError(f"figure_size must be at least {len(PNG_MAGIC)} bytes")

    def to_json(self) -> dict[str, int]:
        """The workload as a JSON object."""
        return asdict(self)


@dataclass(frozen=True)
class Payload:
    """The data every execution of a workload writes."""

    code: str
    context: dict[str, Any]
    results: dict[str, Any]
    figures: tuple[bytes, ...]
    attempts: int


def results_of_size(size: int, seed: int = 7) -> dict[str, Any]:
    """A results document whose ``results.json`` (indent 2) is about ``size`` bytes."""
    rng = random.Random(seed)
    summary: dict[str, Any] = {"units": "degC", "source": "pyexec-store bench", "count": 0}
    empty = len(encode_results({"summary": summary, "values": []}).data)
    sample = [rng.random() for _ in range(1000)]
    full = len(encode_results({"summary": summary, "values": sample}).data)
    count = max(0, round((size - empty) / ((full - empty) / len(sample))))
    values = sample[:count] + [rng.random() for _ in range(count - len(sample))]
    return {"summary": {**summary, "count": count}, "values": values}


def payload(workload: Workload) -> Payload:
    """The payload of ``workload``: the same bytes on every call."""
    rng = random.Random(11)
    body = workload.figure_size - len(PNG_MAGIC)
    figures = tuple(PNG_MAGIC + rng.randbytes(body) for _ in range(workload.figures))
    return Payload(
        code=CODE,
        context={"task": "pyexec-store bench", "sensor": "T-101", "window": 15},
        results=results_of_size(workload.results_size),
        figures=figures,
        attempts=workload.attempts,
    )


@dataclass
class ExecutionSample:
    """One execution, measured."""

    seconds: float
    """From the first call to the last returning."""
    operations: dict[str, list[float]]
    """Seconds of each call, by operation (attempts are several calls)."""
    bytes_written: int
    objects_written: int
    requests: dict[str, int] = field(default_factory=dict)
    """Requests sent, by S3 operation (empty where nobody counts them)."""


class WriteTally:
    """Objects and bytes one backend is asked to write, counted as they pass.

    Installed on one backend instance (its ``write_many``), so only what a
    benchmark's own store writes is counted.
    """

    def __init__(self, backend: Backend) -> None:
        self.objects = 0
        self.bytes = 0
        self._lock = threading.Lock()
        write_many = backend.write_many

        def counted(items: Sequence[WriteItem]) -> list[StorageError | None]:
            outcomes = write_many(items)
            with self._lock:
                for item, outcome in zip(items, outcomes, strict=True):
                    if outcome is None:
                        self.objects += 1
                        self.bytes += len(item.data)
            return outcomes

        setattr(backend, "write_many", counted)  # noqa: B010 - an instance attribute, by design

    def snapshot(self) -> tuple[int, int]:
        """(objects, bytes) so far."""
        with self._lock:
            return self.objects, self.bytes


def run_execution(
    store: ArtifactStore,
    data: Payload,
    tally: WriteTally,
    requests: Callable[[], dict[str, int]] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> ExecutionSample:
    """Run one whole execution on ``store``, timing every call.

    Parameters
    ----------
    store
        Where to write it.
    data
        What to write (:func:`payload`).
    tally
        The :class:`WriteTally` installed on ``store.backend``.
    requests
        Returns the requests counted so far, by type (:class:`RequestCounter.counts`);
        the sample holds the difference this execution made.
    clock
        Seconds, for timing.

    Returns
    -------
    ExecutionSample
        Its latency, each call's time, objects, bytes and requests.
    """
    operations: dict[str, list[float]] = {name: [] for name in OPERATIONS}
    objects0, bytes0 = tally.snapshot()
    requests0 = requests() if requests is not None else {}

    def timed(name: str, call: Callable[[], Any]) -> Any:
        started = clock()
        value = call()
        operations[name].append(clock() - started)
        return value

    started = clock()
    ctx = timed("create_execution", lambda: store.create_execution("bench"))
    timed("save_context", lambda: store.save_context(ctx, data.context))
    for i in range(data.attempts):
        error = f"ValueError: attempt {i + 1} failed" if i < data.attempts - 1 else None

        def attempt(error: str | None = error) -> Any:
            return store.create_attempt_notebook(ctx, data.code, error_context=error)

        timed("create_attempt_notebook", attempt)
    timed("save_results", lambda: store.save_results(ctx, data.results))
    figures = []
    if data.figures:
        figures = timed("save_figures", lambda: store.save_figures(ctx, data.figures))
    timed(
        "create_final_notebook",
        lambda: store.create_final_notebook(
            ctx, data.code, results=data.results, figure_paths=figures
        ),
    )
    timed("finish_execution", lambda: store.finish_execution(ctx, success=True))
    seconds = clock() - started
    objects1, bytes1 = tally.snapshot()
    sent: dict[str, int] = {}
    if requests is not None:
        after = requests()
        sent = {k: n - requests0.get(k, 0) for k, n in after.items() if n != requests0.get(k, 0)}
    return ExecutionSample(
        seconds=seconds,
        operations={k: v for k, v in operations.items() if v},
        bytes_written=bytes1 - bytes0,
        objects_written=objects1 - objects0,
        requests=sent,
    )
