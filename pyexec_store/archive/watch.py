"""Keep archiving: every execution as it finishes, until told to stop.

Offline-first: executors write to local disk and never wait for the network;
this loop ships what they finished. A pass that fails (the network is down,
one upload broke) is simply tried again later, after a wait that doubles with
each failed pass (up to :data:`MAX_BACKOFF`) and is back to the interval after
a clean one. Stopping (``stop.set()``, or SIGINT/SIGTERM in the command) lets
the executions in flight finish; nothing is left half-archived that the next
run would not complete.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

from ..errors import PyExecStoreError
from .report import ArchiveReport
from .run import Archiver, StoreOrUrl

logger = logging.getLogger("pyexec_store")

#: The longest wait between passes after failures, in seconds.
MAX_BACKOFF = 600.0


def next_wait(interval: float, failed_passes: int, max_backoff: float = MAX_BACKOFF) -> float:
    """Seconds before the next pass: the interval, doubled per failed pass in a row, jittered."""
    if failed_passes <= 0:
        return interval
    backoff = min(max_backoff, interval * 2.0**failed_passes)
    return max(interval, backoff * random.uniform(0.8, 1.0))


def watch(
    src: StoreOrUrl,
    dst: StoreOrUrl,
    *,
    interval: float = 30.0,
    stop: threading.Event | None = None,
    on_pass: Callable[[ArchiveReport | None, Exception | None], None] | None = None,
    max_backoff: float = MAX_BACKOFF,
    **options: Any,
) -> None:
    """Archive ``src`` into ``dst`` every ``interval`` seconds until ``stop`` is set.

    Parameters
    ----------
    src, dst
        Stores or URLs, as for :func:`~pyexec_store.archive`.
    interval
        Seconds between passes (more after failed passes, see :func:`next_wait`).
    stop
        Set it to stop; the executions in flight are finished first.
    on_pass
        Called after every pass with its report, or with the error that
        stopped the whole pass (the source or destination unreachable).
    **options
        :func:`~pyexec_store.archive`'s options (``since``, ``verify``, …).
        Only the first pass reads every manifest; later passes remember them
        and send requests only for executions that are new or changed.
    """
    if not isinstance(interval, (int, float)) or isinstance(interval, bool) or interval <= 0:
        raise PyExecStoreError(f"interval={interval!r}: expected a positive number of seconds")
    stop = stop or threading.Event()
    archiver = Archiver(src, dst, stop=stop, **options)
    failed_passes = 0
    while not stop.is_set():
        report: ArchiveReport | None = None
        error: Exception | None = None
        try:
            report = archiver.run()
        except (PyExecStoreError, OSError) as exc:
            error = exc
            logger.warning("archive pass failed: %s", exc)
        if on_pass is not None:
            on_pass(report, error)
        failed_passes = failed_passes + 1 if error or (report and report.failed) else 0
        stop.wait(next_wait(float(interval), failed_passes, max_backoff))
