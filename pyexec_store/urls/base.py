"""The URL strategy contract: one method, no request sent.

A strategy turns a key (a path relative to the store root) into a link a
person can open. It declares the ``open_store`` options it takes in its
``options`` table, with their defaults, and checks them when it is built, so a
bad setting fails at ``open_store``, before any I/O.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from ..backends.base import Backend, reject_unknown_options
from ..errors import ConfigError, ConfigTypeError
from ..layout import FINAL_NOTEBOOK, PAGE_FILE

MAX_EXPIRES = 7 * 24 * 3600  # SigV4's limit
#: Links a browser opens (``s3://`` and ``memory://`` name a place, they open nothing).
OPENING_SCHEMES = ("http://", "https://", "file://")


class UrlStrategy(ABC):
    """Turns a stored key into a link a person can open.

    Parameters
    ----------
    backend
        The storage the keys live on.
    **options
        The strategy's own options, as named in :attr:`options`.
    """

    options: ClassVar[Mapping[str, Any]] = {}
    """The ``open_store`` options this strategy takes, with their defaults."""

    def __init__(self, backend: Backend, **options: Any) -> None:
        self.backend = backend
        self.settings: dict[str, Any] = self.check_options(options)

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """``options`` checked and completed with the defaults; a bad one raises
        :class:`~pyexec_store.ConfigError` or :class:`~pyexec_store.ConfigTypeError`."""
        reject_unknown_options(options, cls.options, f"url_strategy {cls.__name__}")
        return {**cls.options, **options}

    @abstractmethod
    def url(self, key: str, *, expires: int | None = None) -> str:
        """The link to ``key``, a path relative to the store root.

        Must send no request: links are made for every artifact, often.
        ``expires`` overrides the default lifetime where links expire.
        """

    def folder_url(self, key: str) -> str:
        """The link to a folder; by default the same rule as for a file."""
        return self.url(key)

    def execution_url(self, folder: str, *, page: bool = False) -> str:
        """The link a person opens for the execution in ``folder``.

        The folder's link where it opens in a browser (``file``, ``jupyter``);
        else, where file links open (``presigned``), the execution page's when
        it has one (``page``), or else the final notebook's; else the folder's.
        """
        link = self.folder_url(folder)
        if link.startswith(OPENING_SCHEMES):
            return link
        target = self.url(f"{folder}/{PAGE_FILE if page else FINAL_NOTEBOOK}")
        return target if target.startswith(OPENING_SCHEMES) else link


def check_http_url(name: str, url: object) -> str:
    """``url`` if it is an ``http(s)://host[:port][/path]`` URL without user-info."""
    if not isinstance(url, str):
        raise ConfigTypeError(f"{name} must be a str, not {type(url).__name__}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ConfigError(f"{name} is not a URL: {exc}") from None
    if parts.username is not None or parts.password is not None:
        # Never repeat it: it may hold a password.
        raise ConfigError(
            f"{name} must not hold a user name or password; use the credential options"
        )
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
