"""The backend for any fsspec filesystem; local, memory and S3 build on it.

Every storage call goes through :meth:`FsspecBackend.errors`, which turns what
the filesystem raises into a :class:`~pyexec_store.StorageError` whose message
has no secret in it.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import fsspec
from fsspec import AbstractFileSystem
from fsspec.core import strip_protocol

from ..errors import (
    ConfigError,
    ConfigTypeError,
    PyExecStoreError,
    StorageError,
    redactor,
    storage_error,
)
from ..layout import check_relative
from .base import Backend, FileStat, WriteItem

#: Storage options whose values are secrets: they never reach a message. The
#: access key id is not one: every presigned link carries it by design.
SECRET_OPTIONS = frozenset(
    {
        "secret",
        "token",
        "password",
        "aws_secret_access_key",
        "aws_session_token",
        "session_token",
        "secret_key",
        "sas_token",
        "account_key",
        "client_secret",
        "credential",
        "credentials",
    }
)


def strip_userinfo(url: str) -> str:
    """``url`` without a ``user:password@`` part."""
    return re.sub(r"(://)[^/@]*@", r"\1", url)


def secret_values(options: Mapping[str, Any]) -> list[str]:
    """The secret strings among ``options`` (nested mappings included)."""
    found: list[str] = []
    for name, value in options.items():
        if isinstance(value, Mapping):
            found += secret_values(value)
        elif str(name).lower() in SECRET_OPTIONS and isinstance(value, str) and value:
            found.append(value)
    return found


def modified(info: Mapping[str, Any]) -> float | None:
    """The modification time in an fsspec listing entry, as seconds since the epoch.

    Filesystems name it differently: ``mtime`` (local), ``LastModified`` (S3),
    ``created`` (memory, whose files are replaced whole on every write).
    """
    for name in ("mtime", "LastModified", "created"):
        value = info.get(name)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


class FsspecBackend(Backend):
    """Bytes at keys under a root, on one fsspec filesystem.

    Parameters
    ----------
    url
        The store's root URL, e.g. ``"memory://demo"`` or ``"ftp://host/data"``.
    **storage_options
        Passed to the fsspec filesystem.
    """

    def __init__(self, url: str, **storage_options: Any) -> None:
        self.storage_options = dict(storage_options)
        try:
            self.fs, root = self._open_fs(url)
        except (ImportError, PyExecStoreError):
            raise
        except (TypeError, ValueError) as exc:  # options the filesystem does not take
            redact = redactor(secret_values(self.storage_options))
            kind = ConfigTypeError if isinstance(exc, TypeError) else ConfigError
            raise kind(f"cannot open {strip_userinfo(url)}: {redact(str(exc))}") from None
        except Exception as exc:  # filesystems that connect when created (ftp, sftp)
            redact = redactor(secret_values(self.storage_options))
            raise storage_error(exc, "open", strip_userinfo(url), None, redact) from None
        self.root = root.rstrip("/") or "/"
        self._redact = redactor(self.secrets())
        self._exclusive_lock = threading.Lock()

    def _open_fs(self, url: str) -> tuple[AbstractFileSystem, str]:
        fs, root = fsspec.core.url_to_fs(url, **self.storage_options)
        return fs, root

    def secrets(self) -> list[str]:
        """The secrets to keep out of messages."""
        return secret_values(self.storage_options)

    # -- locations ----------------------------------------------------------
    def full_path(self, key: str) -> str:
        """The filesystem's path of ``key``; refuses a key that leaves the root."""
        if not key:
            return self.root
        return f"{self.root.rstrip('/')}/{check_relative(key)}"

    def uri(self, key: str) -> str:
        return str(self.fs.unstrip_protocol(self.full_path(key)))

    def path_options(self) -> dict[str, Any]:
        return dict(self.storage_options)

    def canonical(self, path: str) -> str:
        if "://" not in path:
            return path
        return str(self.fs.unstrip_protocol(strip_protocol(path)))

    # -- errors -------------------------------------------------------------
    @contextlib.contextmanager
    def errors(self, operation: str, key: str) -> Iterator[None]:
        """Turn whatever the filesystem raises into a :class:`StorageError`.

        The original exception is not chained to it, neither as ``__cause__``
        nor as ``__context__``: its text may hold a secret.
        """
        try:
            yield
        except StorageError:
            raise
        except Exception as exc:
            error = self.translate(exc, operation, key)
            try:
                raise error from None
            finally:
                error.__context__ = None  # set by the raise above, even "from None"

    def translate(self, exc: BaseException, operation: str, key: str) -> StorageError:
        """The :class:`StorageError` subclass for ``exc``, free of credentials."""
        return storage_error(exc, operation, self.uri(key), self.endpoint(), self._redact)

    # -- the contract -------------------------------------------------------
    def write_many(self, items: Sequence[WriteItem]) -> list[StorageError | None]:
        for item in items:
            self.full_path(item.path)  # refuse a bad key before anything is written
        outcomes: list[StorageError | None] = []
        for item in items:
            try:
                self._write(item)
                outcomes.append(None)
            except StorageError as exc:
                outcomes.append(exc)
        return outcomes

    def _write(self, item: WriteItem) -> None:
        path = self.full_path(item.path)
        with self.errors("write", item.path):
            if item.exclusive:
                # fsspec's "create" mode checks then writes: serialise it in-process.
                with self._exclusive_lock:
                    self.fs.pipe_file(path, item.data, mode="create")
            else:
                self.fs.pipe_file(path, item.data)

    def read_many(self, keys: Sequence[str]) -> dict[str, bytes | StorageError]:
        paths = {self.full_path(key): key for key in keys}
        out: dict[str, bytes | StorageError] = {}
        for path, key in paths.items():
            try:
                with self.errors("read", key):
                    out[key] = self.fs.cat_file(path)
            except StorageError as exc:
                out[key] = exc
        return out

    def find(self, key: str) -> list[str]:
        path = self.full_path(key)
        prefix = path.rstrip("/") + "/"  # "/" for a store at the root of its filesystem
        with self.errors("list", key):
            found = self.fs.find(path)
        return sorted(str(p)[len(prefix) :] for p in found if str(p).startswith(prefix))

    def find_sizes(self, key: str) -> dict[str, int]:
        return {name: found.size for name, found in self.find_stats(key).items()}

    def find_stats(self, key: str) -> dict[str, FileStat]:
        path = self.full_path(key)
        prefix = path.rstrip("/") + "/"  # "/" for a store at the root of its filesystem
        with self.errors("list", key):
            found = self.fs.find(path, detail=True)
        return {
            str(p)[len(prefix) :]: FileStat(int(info.get("size") or 0), modified(info))
            for p, info in found.items()
            if str(p).startswith(prefix)
        }

    def listdir(self, key: str) -> list[str]:
        path = self.full_path(key)
        with self.errors("list", key):
            try:
                entries = self.fs.ls(path, detail=False)
            except FileNotFoundError:
                return []
        return sorted({str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries} - {""})

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            path = self.full_path(key)
            with self.errors("delete", key), contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(path)
