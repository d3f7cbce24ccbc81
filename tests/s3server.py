"""A real S3 HTTP server for tests and benchmarks: moto in server mode on 127.0.0.1.

It also records every request it receives, so tests can count what the
library sent over the wire (not what it meant to send).
"""

from __future__ import annotations

import threading
import urllib.request
from dataclasses import dataclass
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]

    @property
    def is_internal(self) -> bool:
        return self.path.startswith("/moto-api")


@dataclass(frozen=True)
class Fault:
    status: int
    code: str
    message: str
    match: str = ""
    body: bytes | None = None
    """The whole answer, instead of an ``<Error>`` document."""
    header: str = ""
    """Only requests that carry this header."""
    method: str = ""
    """Only requests with this method."""

    def matches(self, request: Request) -> bool:
        return (
            self.match in request.query
            and (not self.header or self.header in request.headers)
            and (not self.method or self.method == request.method)
        )


class RecordingMotoServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` that keeps a log of the requests it served."""

    def __init__(self, ip_address: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(ip_address, port, verbose=False)
        self.requests: list[Request] = []
        self._log_lock = threading.Lock()
        self._faults: list[Fault] = []
        self._let_through = 0

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)

        def recording_app(environ: dict[str, Any], start_response: Any) -> Any:
            headers = {
                k[5:].replace("_", "-").lower(): str(v)
                for k, v in environ.items()
                if k.startswith("HTTP_")
            }
            for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                if environ.get(key):
                    headers[key.replace("_", "-").lower()] = str(environ[key])
            request = Request(
                environ["REQUEST_METHOD"],
                environ.get("PATH_INFO", ""),
                environ.get("QUERY_STRING", ""),
                headers,
            )
            fault = None
            if not request.is_internal:
                with self._log_lock:
                    self.requests.append(request)
                    fault = next((f for f in self._faults if f.matches(request)), None)
                    if fault is not None and self._let_through:
                        self._let_through -= 1  # served normally: a later one fails
                        fault = None
                    elif fault is not None:
                        self._faults.remove(fault)
            if fault is not None:
                error = (
                    f"<Error><Code>{fault.code}</Code><Message>{fault.message}</Message></Error>"
                )
                # b"" is a body too: the empty answer of a PUT that succeeded.
                body = error.encode() if fault.body is None else fault.body
                start_response(
                    f"{fault.status} {fault.code}", [("Content-Type", "application/xml")]
                )
                return [body]
            return app(environ, start_response)

        self._server = make_server(
            self._ip_address, self._port, recording_app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def endpoint_url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def reset(self) -> None:
        """Forget every bucket and object, the request log, and any auth requirement."""
        req = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10) as response:
            response.read()
        self.require_auth(False)
        with self._log_lock:
            self.requests.clear()
            self._faults.clear()
            self._let_through = 0

    def inject_faults(
        self,
        count: int,
        status: int = 503,
        code: str = "SlowDown",
        message: str = "injected",
        match: str = "",
        body: bytes | None = None,
        header: str = "",
        method: str = "",
        after: int = 0,
    ) -> None:
        """Answer the next ``count`` S3 requests with an error instead of serving them.

        ``match``: only requests whose query string contains it (``"partNumber"``).
        ``body``: the answer's whole body (a 200 that reports errors inside it).
        ``header``: only requests carrying this header (``"if-none-match"``);
        ``method``: only requests with this method (``"PUT"``).
        ``after``: serve the first ``after`` matching requests normally, fail the next ones.
        """
        with self._log_lock:
            self._faults = [Fault(status, code, message, match, body, header, method)] * count
            self._let_through = after

    def require_auth(self, enabled: bool = True) -> None:
        """Check every request's credentials and IAM permissions (moto's own auth)."""
        count = "0" if enabled else "inf"
        req = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/reset-auth",
            data=count.encode(),
            headers={"Content-Type": "text/plain"},  # not a form: moto reads the raw body
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as response:
            response.read()

    def take_requests(self) -> list[Request]:
        """The requests received since the last call (or reset)."""
        with self._log_lock:
            taken, self.requests = self.requests, []
        return taken
