"""Exceptions raised by pyexec_store.

Every error derives from :class:`PyExecStoreError`, so one ``except`` clause
catches them all; each also derives from the built-in exception a caller would
naturally expect::

    PyExecStoreError
    ├── StorageError (OSError)            the storage could not do what was asked
    │   ├── StorageNotFoundError (FileNotFoundError)
    │   ├── StorageExistsError (FileExistsError)
    │   └── StoragePermissionError (PermissionError)
    ├── ResultsWriteError (StorageError, RuntimeError)   seed-compatible FileManager.save_results
    ├── ConfigError (ValueError)          a bad argument, raised before any I/O
    │   ├── UnknownProtocolError
    │   └── PathEscapeError               a path that would leave the store root
    ├── ConfigTypeError (TypeError)       an argument of the wrong type
    └── MissingDependencyError (ImportError)   names the extra to install

Messages name the operation, the path and the endpoint, never a credential.
"""

from __future__ import annotations

import errno as _errno
import re
from collections.abc import Callable, Iterable
from typing import Any


class PyExecStoreError(Exception):
    """Base class of every error pyexec_store raises."""


class StorageError(PyExecStoreError, OSError):
    """The storage failed: unreachable endpoint, missing bucket, permission, disk full.

    Parameters
    ----------
    operation
        What was being done, e.g. ``"write"``.
    path
        The path or URL it was done to.
    endpoint
        Where the storage lives (a folder, an S3 endpoint), if known.
    reason
        Why it failed, already free of credentials.
    """

    def __init__(
        self,
        operation: str,
        path: str,
        endpoint: str | None = None,
        reason: str = "",
        errno: int | None = None,
    ) -> None:
        where = f" at {endpoint}" if endpoint else ""
        message = f"could not {operation} {path}{where}: {reason}".rstrip(": ")
        super().__init__(errno if errno is not None else _errno.EIO, message)
        self.operation = operation
        self.path = path
        self.endpoint = endpoint
        self.reason = reason

    def __str__(self) -> str:
        return str(self.strerror)

    def __reduce__(self) -> tuple[Any, ...]:
        # OSError pickles as (errno, strerror): rebuild from our own arguments instead.
        args = (self.operation, self.path, self.endpoint, self.reason, self.errno)
        return (type(self), args, self.__dict__)


class StorageNotFoundError(StorageError, FileNotFoundError):
    """The object, folder or bucket does not exist."""


class StorageExistsError(StorageError, FileExistsError):
    """An exclusive create found the object already there."""


class StoragePermissionError(StorageError, PermissionError):
    """The storage refused access."""


class ResultsWriteError(StorageError, RuntimeError):
    """Results could not be saved (the seed's ``FileManager.save_results`` raised RuntimeError)."""


class ConfigError(PyExecStoreError, ValueError):
    """A bad argument or configuration value; raised before any I/O."""


class UnknownProtocolError(ConfigError):
    """No backend is known for a URL's protocol."""


class PathEscapeError(ConfigError):
    """A path that would leave the store root."""


class ConfigTypeError(PyExecStoreError, TypeError):
    """An argument or configuration value of the wrong type."""


class MissingDependencyError(PyExecStoreError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class DeadlineError(TimeoutError):
    """A storage call ran out of time (our own words: never redacted)."""


#: Characters that continue a token: a secret is redacted only where it stands whole.
_TOKEN = r"A-Za-z0-9_+\-"


def redactor(secrets: Iterable[str]) -> Callable[[str], str]:
    """A function replacing every whole-token occurrence of a secret with ``***``.

    Whole tokens only, so a secret that happens to be part of a word or a
    bucket name (``test`` in ``test-artifacts``) leaves the text readable.
    """
    values = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not values:
        return str
    pattern = re.compile("|".join(rf"(?<![{_TOKEN}]){re.escape(v)}(?![{_TOKEN}])" for v in values))
    return lambda text: pattern.sub("***", text)


def storage_error(
    exc: BaseException,
    operation: str,
    path: str,
    endpoint: str | None = None,
    redact: Callable[[str], str] = str,
) -> StorageError:
    """The :class:`StorageError` subclass that fits ``exc`` (by type, then errno).

    The reason is the error's own text; for an ``OSError`` its ``strerror``
    only, since the path (often a temporary file's) is already in the message.
    ``redact`` removes credentials from it.
    """
    code = getattr(exc, "errno", None)
    kind: type[StorageError] = StorageError
    if isinstance(exc, FileExistsError) or code == _errno.EEXIST:
        kind = StorageExistsError
    elif isinstance(exc, FileNotFoundError) or code == _errno.ENOENT:
        kind = StorageNotFoundError
    elif isinstance(exc, PermissionError) or code in (_errno.EACCES, _errno.EPERM):
        kind = StoragePermissionError
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    reason = f"{type(exc).__name__}: {text if isinstance(exc, DeadlineError) else redact(text)}"
    return kind(operation, path, endpoint, reason, errno=code)
