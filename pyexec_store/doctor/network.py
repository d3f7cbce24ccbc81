"""Is an HTTP endpoint there? Name, connection and answer told apart, each within seconds.

A dead endpoint fails in one of three ways that call for different fixes: the
name does not resolve (DNS: a typo, or a name only another network knows),
the connection is refused (nothing listens on that port: the server is down,
or it is the wrong port), or nothing answers at all (packets dropped by a
firewall, or a server that accepts connections and never speaks HTTP).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from .checks import Check, failed, passed, warned

#: Seconds allowed to each step: resolving, connecting, answering.
TIMEOUT = 3.0
#: SigV4 refuses requests signed more than this far from the server's clock.
SIGV4_SKEW = 15 * 60


@dataclass(frozen=True)
class Answer:
    """What the endpoint said to a plain ``GET /``."""

    status: int
    server: str
    date: datetime | None
    seconds: float


def host_port(url: str) -> tuple[str, int, bool]:
    """(host, port, TLS) of an ``http(s)://host[:port]`` URL."""
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    return parts.hostname or "", parts.port or (443 if tls else 80), tls


def resolve(host: str, port: int, timeout: float = TIMEOUT) -> list[str]:
    """The addresses of ``host``; :class:`socket.gaierror` or :class:`TimeoutError`."""
    found: list[object] = []

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            found.append(exc)

    # getaddrinfo takes no timeout: ask in a thread and stop waiting for it.
    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(timeout)
    if not found:
        raise TimeoutError(f"no DNS answer for {host} within {timeout:g} s")
    if isinstance(found[0], OSError):
        raise found[0]
    return sorted({str(info[4][0]) for info in found[0]})  # type: ignore[attr-defined]


def reach(
    url: str, name: str = "endpoint", timeout: float = TIMEOUT
) -> tuple[Check, Answer | None]:
    """Resolve, connect to and ask ``url``: a check naming what failed, and the answer."""
    host, port, tls = host_port(url)
    where = f"{host}:{port}"
    try:
        addresses = resolve(host, port, timeout)
    except TimeoutError as exc:
        return failed(name, f"{url}: {exc}", "check the DNS server this machine uses"), None
    except OSError as exc:
        return (
            failed(
                name,
                f"{url}: the name {host!r} does not resolve (DNS: {exc.strerror or exc})",
                "check the host name; a Docker service name resolves only inside its network, "
                "use the published port on localhost from outside",
            ),
            None,
        )
    started = time.monotonic()
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except ConnectionRefusedError:
        return (
            failed(
                name,
                f"{url}: {where} refused the connection: nothing listens on that port",
                "start the server, or fix the port (MinIO's S3 API is on 9000, its console "
                "on 9001; SeaweedFS's S3 on 8333)",
            ),
            None,
        )
    except TimeoutError:
        return (
            failed(
                name,
                f"{url}: no answer from {where} ({', '.join(addresses)}) within {timeout:g} s",
                "packets are dropped: a firewall, a VPN, or an address this machine cannot reach",
            ),
            None,
        )
    except OSError as exc:
        return failed(name, f"{url}: cannot connect to {where}: {exc.strerror or exc}"), None
    return _ask(url, name, host, port, tls, timeout, started)


def _ask(
    url: str, name: str, host: str, port: int, tls: bool, timeout: float, started: float
) -> tuple[Check, Answer | None]:
    connection: http.client.HTTPConnection
    if tls:
        connection = http.client.HTTPSConnection(host, port, timeout=timeout)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        response.read(65536)
    except ssl.SSLError as exc:
        hint = "use http:// for a server without TLS, or trust its certificate (AWS_CA_BUNDLE)"
        return failed(name, f"{url}: TLS failed: {exc.reason or exc}", hint), None
    except TimeoutError:
        return (
            failed(
                name,
                f"{url}: accepts connections but sends no HTTP answer within {timeout:g} s",
                "is this the S3 API port? A server that is starting, stuck, or not HTTP",
            ),
            None,
        )
    except (OSError, http.client.HTTPException) as exc:
        return failed(name, f"{url}: no HTTP answer: {exc}"), None
    finally:
        connection.close()
    seconds = time.monotonic() - started
    date = _date(response.getheader("Date"))
    server = response.getheader("Server") or "unnamed server"
    answer = Answer(response.status, server, date, seconds)
    detail = f"{url} answered in {seconds * 1000:.0f} ms (HTTP {response.status}, {server})"
    return passed(name, detail), answer


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None


def clock(answer: Answer | None, now: datetime | None = None) -> Check:
    """This machine's clock against the server's ``Date``: SigV4 fails beyond 15 minutes."""
    if answer is None or answer.date is None:
        return warned("clock", "the server sent no Date header: skew unknown")
    now = now or datetime.now(timezone.utc)
    skew = (answer.date - now).total_seconds()
    text = f"the server's clock is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} ours"
    hint = "synchronise the clock (NTP: timedatectl set-ntp true; in a VM or container, the host's)"
    if abs(skew) > SIGV4_SKEW:
        return failed("clock", f"{text}: signed requests are refused beyond 15 minutes", hint)
    if abs(skew) > 60:
        return warned("clock", f"{text}: within SigV4's 15 minutes, but drifting", hint)
    return passed("clock", text)
