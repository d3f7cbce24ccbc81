"""Requests an S3 store sends, counted on the client, by operation.

botocore announces every HTTP request it is about to send (``before-send``,
retries included) on its client's event system; a counter registered there
sees exactly what goes over the wire, on any S3 server.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from ..backends import Backend

_LOCK = threading.Lock()


class RequestCounter:
    """HTTP requests sent, by S3 operation (``PutObject``, ``ListObjectsV2``, …)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, event_name: str = "", **_: Any) -> None:
        # A before-send handler must return None: a value would replace the answer.
        operation = event_name.rsplit(".", 1)[-1]
        with self._lock:
            self._counts[operation] += 1

    def counts(self) -> dict[str, int]:
        """The requests counted so far, by operation."""
        with self._lock:
            return dict(self._counts)


def request_counter(backend: Backend) -> RequestCounter | None:
    """The counter of the requests ``backend`` sends, or ``None`` if it sends none we can count.

    Parameters
    ----------
    backend
        A store's backend; S3 backends are counted, others are not.

    Returns
    -------
    RequestCounter or None
        A new counter each call, counting from then on.
    """
    if getattr(backend, "protocol", "") != "s3":
        return None
    from ..backends._s3fs import on_every_request

    fs = getattr(backend, "fs", None)
    if fs is None:
        return None
    # A fresh counter on the client as it is now: a filesystem reused from fsspec's
    # cache may have made a new client since an earlier counter was registered.
    counter = RequestCounter()
    with _LOCK:
        on_every_request(fs, counter, unique_id=f"pyexec-store-bench-{id(counter)}")
    return counter
