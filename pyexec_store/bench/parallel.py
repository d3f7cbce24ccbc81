"""Running executions on one store: one writer in this process, or several at once.

Several writers are separate processes (started fresh, ``spawn``), as the
executors of a deployment are; a ``memory://`` store lives in one process,
so its writers are threads. Every writer opens its own store, runs one
execution to warm up (imports, connections), then waits until all are
ready: the clock starts when they are released together and stops when the
last one is done, so start-up costs are not counted.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..config import open_store
from ..errors import PyExecStoreError
from ..store import ArtifactStore
from .requests import request_counter
from .stats import Run
from .workload import ExecutionSample, Workload, WriteTally, payload, run_execution

#: Seconds writers may take to start and warm up.
STARTUP_SECONDS = 120.0
#: Progress messages a writer sends over its run (at most).
PROGRESS_STEPS = 20

Progress = Callable[[int], None]
"""Called with the number of executions just finished."""


class BenchError(PyExecStoreError, RuntimeError):
    """A benchmark writer failed; the message says which and why."""


class _Barrier(Protocol):
    def wait(self, timeout: float | None = None) -> int: ...
    def abort(self) -> None: ...


class _Queue(Protocol):
    def put(self, item: Any) -> None: ...
    def get(self, block: bool = True, timeout: float | None = None) -> Any: ...


def measured(store: ArtifactStore, workload: Workload) -> Callable[[], ExecutionSample]:
    """A function running one measured execution of ``workload`` on ``store``."""
    tally = WriteTally(store.backend)
    counter = request_counter(store.backend)
    data = payload(workload)
    counts = counter.counts if counter is not None else None
    return lambda: run_execution(store, data, tally, counts)


def run_here(store: ArtifactStore, workload: Workload, progress: Progress | None = None) -> Run:
    """``workload.executions`` executions one after the other, in this process."""
    execute = measured(store, workload)
    execute()  # warm up: imports, connections, caches
    samples = []
    started = time.perf_counter()
    for _ in range(workload.executions):
        samples.append(execute())
        if progress is not None:
            progress(1)
    return Run(1, "in-process", time.perf_counter() - started, samples)


def _writer(
    url: str,
    options: Mapping[str, Any],
    workload: Workload,
    count: int,
    start: _Barrier,
    out: _Queue,
    index: int,
) -> None:
    """One writer: open, warm up, wait for the start, run ``count`` executions, report."""
    try:
        execute = measured(open_store(url, **options), workload)
        execute()
    except BaseException as exc:
        out.put(("error", index, f"{type(exc).__name__}: {exc}"))
        start.abort()
        return
    try:
        start.wait(STARTUP_SECONDS)
    except threading.BrokenBarrierError:
        out.put(("aborted", index, None))
        return
    step = max(1, count // PROGRESS_STEPS)
    samples = []
    try:
        for i in range(count):
            samples.append(execute())
            if (i + 1) % step == 0 or i + 1 == count:
                out.put(("progress", index, (i + 1) % step or step))
    except BaseException as exc:
        out.put(("error", index, f"{type(exc).__name__}: {exc}"))
        return
    out.put(("done", index, samples))


def shares(total: int, workers: int) -> list[int]:
    """``total`` executions split as evenly as possible between ``workers``."""
    return [total // workers + (i < total % workers) for i in range(workers)]


def run_writers(
    url: str,
    options: Mapping[str, Any],
    workload: Workload,
    workers: int,
    *,
    threads: bool = False,
    progress: Progress | None = None,
) -> Run:
    """``workload.executions`` executions shared by ``workers`` writers running at once.

    Parameters
    ----------
    url, options
        The store every writer opens.
    threads
        Threads of this process instead of processes (for ``memory://``).
    """
    counts = shares(workload.executions, workers)
    out: _Queue
    start: _Barrier
    if threads:
        out, start = queue.Queue(), threading.Barrier(workers + 1)
        pool: list[Any] = [
            threading.Thread(
                target=_writer, args=(url, options, workload, n, start, out, i), daemon=True
            )
            for i, n in enumerate(counts)
        ]
    else:
        spawn = multiprocessing.get_context("spawn")
        out, start = spawn.Queue(), spawn.Barrier(workers + 1)
        pool = [
            spawn.Process(
                target=_writer, args=(url, options, workload, n, start, out, i), daemon=True
            )
            for i, n in enumerate(counts)
        ]
    for worker in pool:
        worker.start()

    def alive() -> bool:
        return all(w.is_alive() for w in pool)

    try:
        try:
            start.wait(STARTUP_SECONDS)
        except threading.BrokenBarrierError:
            raise BenchError(_first_error(out) or "a writer did not start in time") from None
        started = time.perf_counter()
        finished = time.perf_counter()
        samples: list[ExecutionSample] = []
        done = 0
        while done < workers:
            try:
                kind, index, value = out.get(timeout=1.0)
            except queue.Empty:
                if not threads and not alive() and done < workers:
                    # A process died without a word (killed, out of memory).
                    try:
                        kind, index, value = out.get(timeout=5.0)
                    except queue.Empty:
                        raise BenchError("a writer process died") from None
                else:
                    continue
            if kind == "error":
                raise BenchError(f"writer {index + 1} of {workers} failed: {value}")
            if kind == "progress" and progress is not None:
                progress(value)
            elif kind == "done":
                done += 1
                samples += value
                finished = time.perf_counter()
    finally:
        for worker in pool:
            worker.join(timeout=30)
            if not threads and worker.is_alive():
                worker.terminate()
    return Run(workers, "threads" if threads else "processes", finished - started, samples)


def _first_error(out: _Queue) -> str | None:
    """The first error a writer reported, if any arrives within a few seconds."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            kind, index, value = out.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            return None
        if kind == "error":
            return f"writer {index + 1} failed: {value}"
    return None
