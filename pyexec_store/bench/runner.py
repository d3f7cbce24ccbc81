"""``bench()``: whole executions on each store, one writer and several, under a fresh prefix."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..backends import backend_class, split_protocol
from ..config import open_store
from ..errors import ConfigError, ConfigTypeError, StorageError
from ..registry import URL_STRATEGIES
from ..store import ArtifactStore
from .parallel import run_here, run_writers
from .requests import request_counter
from .stats import StoreReport
from .workload import Workload

ProgressHook = Callable[[str, int, int], None]
"""Called as ``hook(task, executions_just_finished, executions_in_task)``."""

PREFIX = "pyexec-bench"


def fresh_prefix(url: str, now: datetime | None = None) -> str:
    """``url`` with a new folder of its own appended (``…/pyexec-bench-20261128-153924-1a2b3c``)."""
    now = now or datetime.now()
    leaf = f"{PREFIX}-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    if "://" in url:
        return f"{url.rstrip('/')}/{leaf}"
    return os.path.join(url, leaf)


def _link_options() -> set[str]:
    names = {"url_strategy"}
    for strategy in URL_STRATEGIES.names():
        names.update(URL_STRATEGIES.get(strategy).options)
    return names


def options_for(urls: Sequence[str], options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The options each store takes: one set serves all, each store skips what its backend
    cannot use (``endpoint_url`` means nothing to a local store). An option no store takes
    is refused."""
    links = _link_options()
    chosen: list[dict[str, Any]] = []
    for url in urls:
        cls = backend_class(split_protocol(url))
        chosen.append({k: v for k, v in options.items() if k in links or cls.accepts(k)})
    unused = [k for k in options if not any(k in c for c in chosen)]
    if unused:
        raise ConfigError(f"option {unused[0]!r} is taken by none of the stores")
    return chosen


def remove_everything(store: ArtifactStore) -> None:
    """Delete every object under the store's root, then (on local disk) its empty folders."""
    backend = store.backend
    keys = backend.find("")
    if keys:
        backend.delete(keys)
    root = getattr(backend, "root", None)
    if backend.protocol == "file" and isinstance(root, str) and os.path.isdir(root):
        for folder, _, _ in os.walk(root, topdown=False):
            with contextlib.suppress(OSError):  # not empty: something we did not write
                os.rmdir(folder)


def bench(
    stores: Sequence[str],
    *,
    workload: Workload | None = None,
    concurrency: Sequence[int] = (1, 4),
    options: Mapping[str, Any] | None = None,
    keep: bool = False,
    progress: ProgressHook | None = None,
) -> list[StoreReport]:
    """Measure whole executions on each store: latency, throughput, cost per call, requests.

    On each store, in turn, under a fresh prefix (deleted afterwards unless
    ``keep``): ``workload.executions`` executions by one writer in this
    process, then the same number shared by each number of concurrent
    writers in ``concurrency`` (separate processes; threads for
    ``memory://``, which lives in one process).

    Parameters
    ----------
    stores
        Store URLs or paths, as for :func:`~pyexec_store.open_store`.
    workload
        What each execution writes (default: :class:`Workload` ``()``).
    concurrency
        Numbers of writers at once; ``1`` (one writer, in this process) is always run.
    options
        Store options for every store; each store skips those its backend
        cannot use (an option no store takes is a :class:`~pyexec_store.ConfigError`).
    keep
        Leave what was written in place.
    progress
        Called as ``progress(task, finished, total)`` as executions finish.

    Returns
    -------
    list of StoreReport
        One per store, in order; ``report.to_json()`` is its JSON form.

    Raises
    ------
    ConfigError, ConfigTypeError
        For bad arguments, before anything is written.
    StorageError
        When a store fails.
    BenchError
        When a concurrent writer fails.
    """
    workload = workload or Workload()
    if isinstance(stores, str) or not stores:
        raise ConfigTypeError("stores must be a non-empty list of store URLs")
    levels: set[int] = {1}
    for level in concurrency:
        if isinstance(level, bool) or not isinstance(level, int) or level < 1:
            raise ConfigError(f"concurrency must be positive ints, not {level!r}")
        levels.add(level)
    per_store = options_for([os.fspath(u) for u in stores], dict(options or {}))
    planned = []
    for url, opts in zip(stores, per_store, strict=True):
        written_under = fresh_prefix(os.fspath(url))
        planned.append((os.fspath(url), written_under, opts, open_store(written_under, **opts)))
    return [
        _bench_one(url, under, opts, store, workload, sorted(levels), keep, progress)
        for url, under, opts, store in planned
    ]


def _bench_one(
    url: str,
    written_under: str,
    options: dict[str, Any],
    store: ArtifactStore,
    workload: Workload,
    levels: list[int],
    keep: bool,
    progress: ProgressHook | None,
) -> StoreReport:
    backend = store.backend
    report = StoreReport(url, written_under, backend.protocol or "?", workload, kept=keep)
    report.counts_requests = request_counter(backend) is not None
    in_memory = backend.protocol == "memory"
    total = workload.executions
    try:
        for workers in levels:
            task = f"{url} · {workers} writer{'s' if workers > 1 else ''}"

            def tick(n: int, task: str = task) -> None:
                if progress is not None:
                    progress(task, n, total)

            if progress is not None:
                progress(task, 0, total)
            if workers == 1:
                run = run_here(store, workload, tick)
            else:
                run = run_writers(
                    written_under, options, workload, workers, threads=in_memory, progress=tick
                )
            report.runs.append(run)
        if in_memory and len(levels) > 1:
            report.notes.append(
                "concurrent writers ran as threads (a memory store lives in one process)"
            )
    finally:
        if not keep:
            try:
                remove_everything(store)
            except StorageError as exc:
                report.notes.append(f"could not delete {written_under}: {exc}")
    return report
