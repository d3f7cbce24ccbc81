"""The backend contract, and the generic implementation for any fsspec filesystem.

A backend stores bytes at paths *relative to its root*. The store never builds
an absolute path itself: :meth:`Backend.full_path` is the one place where a
relative path is joined to the root, and it refuses anything that could escape.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import fsspec
from fsspec import AbstractFileSystem
from upath import UPath

from ..errors import PathEscapeError, StorageError, storage_error
from ..layout import check_relative

#: Credential-bearing storage options: their values never reach a message.
SECRET_OPTIONS = frozenset(
    {
        "key",
        "secret",
        "token",
        "password",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "session_token",
        "access_key",
        "secret_key",
        "sas_token",
        "account_key",
        "client_secret",
        "credential",
        "credentials",
    }
)


@dataclass(frozen=True)
class WriteItem:
    """One object to write: where, what, and how."""

    path: str
    data: bytes
    exclusive: bool = False
    content_type: str | None = None


def _secrets(options: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for name, value in options.items():
        if isinstance(value, Mapping):
            found += _secrets(value)
        elif name.lower() in SECRET_OPTIONS and isinstance(value, str) and value:
            found.append(value)
    return found


class Backend:
    """Bytes at relative paths under a root, on one fsspec filesystem.

    Subclasses override the few methods where their storage can do better
    (atomic local writes, conditional puts on S3); everything else works on any
    fsspec filesystem, which is what the generic fallback uses.

    Parameters
    ----------
    url
        The store's root URL, e.g. ``"memory://demo"`` or ``"s3://bucket/prefix"``.
    storage_options
        Passed to the fsspec filesystem.
    """

    protocol: ClassVar[str] = ""
    default_url_strategy: ClassVar[str] = "file"

    def __init__(self, url: str, **storage_options: Any) -> None:
        self.storage_options = dict(storage_options)
        self.fs, root = self._open_fs(url)
        self.root = root.rstrip("/") or "/"
        self._secrets = _secrets(self.storage_options)
        self._exclusive_lock = threading.Lock()

    def _open_fs(self, url: str) -> tuple[AbstractFileSystem, str]:
        fs, root = fsspec.core.url_to_fs(url, **self.storage_options)
        return fs, root

    # -- paths --------------------------------------------------------------
    def full_path(self, rel: str) -> str:
        """The filesystem path of ``rel``; refuses a path that leaves the root."""
        rel = check_relative(rel)
        return f"{self.root.rstrip('/')}/{rel}"

    def relative(self, path: str | UPath) -> str:
        """The path of ``path`` relative to the root (inverse of :meth:`full_path`).

        ``path`` is a URL or an absolute path inside the root, or a path already
        relative to the root (``"executed_scripts/…"``).
        """
        text = str(path)
        stripped = self.fs._strip_protocol(text) if "://" in text else text
        root = self.root.rstrip("/")
        if stripped == root:
            return ""
        if stripped.startswith(root + "/"):
            return check_relative(stripped[len(root) + 1 :])
        if "://" not in text and not text.startswith("/"):
            return check_relative(text.strip("/"))
        raise PathEscapeError(f"{text!r} is not inside the store root {self.describe()}")

    def upath(self, rel: str) -> UPath:
        """A :class:`~upath.UPath` for ``rel``, usable with the same filesystem."""
        path: UPath = UPath(self.fs.unstrip_protocol(self.full_path(rel)), **self.storage_options)
        return path

    def uri(self, rel: str) -> str:
        """A URL naming ``rel`` on this storage (``memory://…``, ``s3://…``)."""
        return str(self.fs.unstrip_protocol(self.full_path(rel)))

    def describe(self) -> str:
        """Where this storage is, for messages: never a credential."""
        return str(self.fs.unstrip_protocol(self.root))

    def endpoint(self) -> str | None:
        """The endpoint named in error messages."""
        return None

    # -- errors -------------------------------------------------------------
    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    @contextlib.contextmanager
    def errors(self, operation: str, rel: str) -> Iterator[None]:
        """Turn whatever the filesystem raises into a :class:`StorageError`."""
        try:
            yield
        except StorageError:
            raise
        except Exception as exc:
            raise self.translate(exc, operation, rel) from None

    def translate(self, exc: BaseException, operation: str, rel: str) -> StorageError:
        """The :class:`StorageError` subclass for ``exc``, free of credentials."""
        where = self.uri(rel) if rel else self.describe()
        return storage_error(exc, operation, where, self.endpoint(), self._redact)

    # -- writing ------------------------------------------------------------
    def makedirs(self, rel: str) -> None:
        """Create a folder where the storage has folders (object stores have none)."""

    def write(
        self, rel: str, data: bytes, *, exclusive: bool = False, content_type: str | None = None
    ) -> None:
        """Write ``data`` at ``rel`` in one step: readers see all of it or nothing.

        With ``exclusive``, fail with :class:`StorageExistsError` if ``rel`` exists.
        """
        path = self.full_path(rel)
        with self.errors("write", rel):
            if exclusive:
                # fsspec's "create" mode checks then writes: serialise it in-process.
                with self._exclusive_lock:
                    self.fs.pipe_file(path, data, mode="create")
            else:
                self.fs.pipe_file(path, data)

    def write_many(self, items: Sequence[WriteItem]) -> list[StorageError | None]:
        """Write several objects (concurrently where the storage allows).

        Returns one outcome per item, in order: ``None`` when it was written,
        else the :class:`StorageError` it failed with. Nothing is raised for a
        failed item, so the caller sees which ones went through.
        """
        for item in items:
            self.full_path(item.path)  # refuse a bad path before anything is written
        outcomes: list[StorageError | None] = []
        for item in items:
            try:
                self.write(
                    item.path, item.data, exclusive=item.exclusive, content_type=item.content_type
                )
                outcomes.append(None)
            except StorageError as exc:
                outcomes.append(exc)
        return outcomes

    # -- reading ------------------------------------------------------------
    def read(self, rel: str) -> bytes:
        """The bytes stored at ``rel``."""
        with self.errors("read", rel):
            data: bytes = self.fs.cat_file(self.full_path(rel))
            return data

    def read_many(self, rels: Sequence[str]) -> dict[str, bytes | StorageError]:
        """Read several objects (concurrently where possible); failures are returned."""
        if not rels:
            return {}
        paths = {self.full_path(rel): rel for rel in rels}
        with self.errors("read", rels[0]):
            found = self.fs.cat(list(paths), on_error="return")
        if not isinstance(found, dict):  # a single path comes back bare
            found = {next(iter(paths)): found}
        out: dict[str, bytes | StorageError] = {}
        for path, value in found.items():
            rel = paths.get(self.fs._strip_protocol(path), paths.get(path, path))
            out[rel] = (
                self.translate(value, "read", rel) if isinstance(value, BaseException) else value
            )
        return out

    def find(self, rel: str) -> list[str]:
        """Every file below folder ``rel``, as paths relative to it (one listing on S3)."""
        path = self.full_path(rel)
        with self.errors("list", rel):
            found = self.fs.find(path)
        return sorted(str(p)[len(path) + 1 :] for p in found if str(p).startswith(path + "/"))

    def listdir(self, rel: str) -> list[str]:
        """Names directly inside folder ``rel`` (empty if there is no such folder)."""
        path = self.full_path(rel) if rel else self.root
        with self.errors("list", rel):
            try:
                entries = self.fs.ls(path, detail=False)
            except FileNotFoundError:
                return []
        return sorted({str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries} - {""})
