"""The URL strategy contract."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..backends.base import Backend
from ..errors import ConfigError, ConfigTypeError

MAX_EXPIRES = 7 * 24 * 3600  # SigV4's limit


@dataclass(frozen=True)
class UrlOptions:
    """Settings the strategies read; each uses the ones it needs."""

    expires: int = 3600
    public_endpoint_url: str | None = None
    jupyter_base_url: str = "http://localhost:8088"
    jupyter_prefix: str = "executed_scripts"

    def __post_init__(self) -> None:
        check_expires(self.expires)
        check_http_url("jupyter_base_url", self.jupyter_base_url)
        if self.public_endpoint_url is not None:
            check_http_url("public_endpoint_url", self.public_endpoint_url)
        if not isinstance(self.jupyter_prefix, str):
            raise ConfigTypeError(
                f"jupyter_prefix must be a str, not {type(self.jupyter_prefix).__name__}"
            )


def check_http_url(name: str, url: object) -> str:
    """``url`` if it is an ``http(s)://host[:port][/path]`` URL."""
    if not isinstance(url, str):
        raise ConfigTypeError(f"{name} must be a str, not {type(url).__name__}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ConfigError(f"{name}={url!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ConfigError(f"{name}={url!r}: expected http(s)://host[:port][/path]")
    return url


def check_expires(expires: object) -> int:
    """``expires`` if it is a whole number of seconds from 1 to 7 days."""
    if isinstance(expires, bool) or not isinstance(expires, int):
        raise ConfigTypeError(f"url_expires must be an int number of seconds, not {expires!r}")
    if not 1 <= expires <= MAX_EXPIRES:
        raise ConfigError(
            f"url_expires={expires}: must be from 1 to {MAX_EXPIRES} seconds (7 days)"
        )
    return expires


class UrlStrategy(ABC):
    """Turns a stored path into a link a person can open.

    Parameters
    ----------
    backend
        The storage the paths live on.
    options
        Shared settings (expiry, endpoints, Jupyter base URL).
    """

    def __init__(self, backend: Backend, options: UrlOptions) -> None:
        self.backend = backend
        self.options = options

    @abstractmethod
    def url(self, rel: str, *, expires: int | None = None) -> str:
        """The link to ``rel``, a path relative to the store root.

        Must send no request: links are made for every artifact, often.
        ``expires`` overrides the default lifetime where links expire.
        """

    def folder_url(self, rel: str) -> str:
        """The link to a folder; by default the same rule as for a file."""
        return self.url(rel)
