"""Small misbehaving HTTP servers on 127.0.0.1, for deadline tests.

Each serves on a thread of its own, stops by itself when its ``with`` block
ends, and sends nothing anywhere but to the connections it accepted.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def _serve(handle: Callable[[socket.socket, threading.Event], None]) -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            thread = threading.Thread(target=handle, args=(conn, stop), daemon=True)
            thread.start()
            threads.append(thread)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join()
        for thread in threads:
            thread.join(timeout=5)
        listener.close()


@contextmanager
def silent_server() -> Iterator[str]:
    """An endpoint that accepts connections and never answers."""

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        with conn:
            stop.wait()

    with _serve(handle) as url:
        yield url
