"""The URL strategy contract."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

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
