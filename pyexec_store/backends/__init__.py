"""Backends, chosen by URL protocol through :data:`pyexec_store.registry.BACKENDS`.

Each backend is one small module: ``local`` (``file://``, ``local://`` and
plain paths), ``memory``, ``s3``. Any other protocol fsspec knows is served by
the generic :class:`~pyexec_store.backends.generic.FsspecBackend`. The contract
they all keep is :class:`~pyexec_store.backends.base.Backend`.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import Any

import fsspec

from ..errors import (
    ConfigError,
    ConfigTypeError,
    MissingDependencyError,
    PyExecStoreError,
    UnknownProtocolError,
    redactor,
    storage_error,
)
from ..registry import BACKENDS
from .base import Backend, WriteItem, reject_unknown_options
from .generic import FsspecBackend, secret_values

__all__ = [
    "Backend",
    "FsspecBackend",
    "WriteItem",
    "backend_class",
    "get_backend",
    "read_file_url",
    "reject_unknown_options",
    "split_protocol",
    "write_file_url",
]


def split_protocol(url: str) -> str:
    """The protocol of ``url``; plain paths are ``file``."""
    if "://" in url:
        return url.split("://", 1)[0].lower()
    return "file"


def backend_class(protocol: str) -> type[Backend]:
    """The backend class for ``protocol``, importing it on first use."""
    if protocol in BACKENDS:
        return BACKENDS.get(protocol)
    if protocol in fsspec.available_protocols():
        return FsspecBackend
    raise UnknownProtocolError(
        f"no backend for protocol {protocol!r}; known: {', '.join(BACKENDS.names())}, "
        "or any protocol fsspec knows"
    )


def store_url(url: object) -> str:
    """``url`` as a non-empty string, or a clear error."""
    if not isinstance(url, (str, os.PathLike)):
        raise ConfigTypeError(f"a store URL must be a str or path, not {type(url).__name__}")
    text = os.fspath(url)
    if not isinstance(text, str) or not text:
        raise UnknownProtocolError(f"not a store URL: {url!r}")
    return text


def get_backend(url: str | os.PathLike[str], **options: Any) -> Backend:
    """Open the backend serving ``url`` (a path or an fsspec URL); it checks its options."""
    text = store_url(url)
    protocol = split_protocol(text)
    cls = backend_class(protocol)
    try:
        return cls(text, **options)  # type: ignore[call-arg]
    except ImportError as exc:
        if isinstance(exc, MissingDependencyError):
            raise
        # fsspec names the package its implementation needs, e.g. "Install gcsfs ...".
        raise MissingDependencyError(f"the {protocol} storage needs a package: {exc}") from exc


def write_file_url(
    path_or_url: str | os.PathLike[str],
    data: bytes,
    *,
    content_type: str = "application/json",
    **storage_options: Any,
) -> None:
    """Write ``data`` to one file, atomically, wherever ``path_or_url`` points.

    A temporary file and a rename locally (the umask's mode, as ``open`` would
    give, minus world write: a plain file, not a store), a single PUT on S3.

    Raises
    ------
    StorageError
        For every failure of the storage (unreachable, missing bucket, refused).
    ConfigError, ConfigTypeError
        For a bad URL or storage option, before any I/O.
    """
    protocol, parent, name = _split_file(os.fspath(path_or_url))
    with _file_errors("write", parent, name, storage_options):
        if protocol == "file":
            from .local import write_plain_file

            write_plain_file(parent, name, data)
            return
        get_backend(parent, **storage_options).write(name, data, content_type=content_type)


def read_file_url(path_or_url: str | os.PathLike[str], **storage_options: Any) -> bytes:
    """The bytes of one file, wherever ``path_or_url`` points.

    Raises
    ------
    StorageNotFoundError
        If the file (or its bucket) does not exist.
    StorageError
        For every other failure of the storage.
    ConfigError, ConfigTypeError
        For a bad URL or storage option, before any I/O.
    """
    protocol, parent, name = _split_file(os.fspath(path_or_url))
    with _file_errors("read", parent, name, storage_options):
        if protocol == "file":
            from .local import read_plain_file

            return read_plain_file(parent, name)
        return get_backend(parent, **storage_options).read(name)


@contextlib.contextmanager
def _file_errors(
    operation: str, parent: str, name: str, storage_options: dict[str, Any]
) -> Iterator[None]:
    """Whatever escapes a backend (a filesystem that connects as it is made, say)
    becomes a :class:`StorageError`; our own errors pass as they are."""
    try:
        yield
    except (PyExecStoreError, ImportError):
        raise
    except Exception as exc:
        where = re.sub(r"//[^/@]*@", "//", f"{parent}/{name}")  # never a user:password
        error = storage_error(exc, operation, where, None, redactor(secret_values(storage_options)))
        try:
            raise error from None
        finally:
            error.__context__ = None  # the original's text may hold a secret


def _split_file(text: str) -> tuple[str, str, str]:
    """(protocol, parent folder, file name) of a file path or URL; local paths made absolute."""
    protocol = split_protocol(text)
    if protocol in ("file", "local"):
        from .local import local_path

        path = os.path.abspath(local_path(text))
        return "file", os.path.dirname(path), os.path.basename(path)
    parent, _, name = text.rstrip("/").rpartition("/")
    if "://" not in parent:
        raise ConfigError(f"{text!r} names no file: expected {protocol}://…/name")
    return protocol, parent, name
