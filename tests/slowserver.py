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


@contextmanager
def trickle_server(body_size: int = 30, interval: float = 1.0) -> Iterator[str]:
    """An endpoint that answers any request with 200 and its headers at once,
    then sends the body one byte every ``interval`` seconds."""

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        with conn:
            conn.settimeout(5)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                request += chunk
            head = (
                "HTTP/1.1 200 OK\r\n"
                f"Content-Length: {body_size}\r\n"
                "Content-Type: application/json\r\n"
                'ETag: "0"\r\n\r\n'
            )
            try:
                conn.sendall(head.encode())
                for _ in range(body_size):
                    if stop.wait(interval):
                        return
                    conn.sendall(b" ")
            except OSError:
                return  # the client gave up

    with _serve(handle) as url:
        yield url
