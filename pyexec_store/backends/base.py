"""The backend contract: what the store needs from a storage, and nothing more.

A backend stores bytes at *keys*: POSIX paths relative to its root
(``executed_scripts/2026-11/execution_…/results.json``). The store never builds
a location itself; it hands keys to these few methods::

    write_many(items)    write objects (exclusive creates, content types)
    read_many(keys)      read objects
    find(key)            every file below a folder
    listdir(key)         the names directly inside a folder
    delete(keys)         remove objects
    uri(key)             the storage's own URL of a key (``s3://…``, ``file:///…``)

Everything else has a default built on those, including what archiving needs
(:meth:`Backend.find_stats`, :meth:`Backend.open_read`,
:meth:`Backend.write_stream`, :meth:`Backend.digests`): a storage overrides
them only to do better (stream large files, list modification times, let the
server vouch for a checksum). A backend translates every
failure of its storage into a :class:`~pyexec_store.StorageError` at this edge,
with no credential in its message, and refuses a key that could leave the root
(:func:`~pyexec_store.layout.check_relative`) before any I/O.
"""

from __future__ import annotations

import difflib
import hashlib
import io
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any, ClassVar, Protocol

from upath import UPath

from ..errors import ConfigError, PathEscapeError, StorageError
from ..layout import check_relative


@dataclass(frozen=True)
class WriteItem:
    """One object to write: where, what, and how."""

    path: str
    """The key, relative to the root."""
    data: bytes
    exclusive: bool = False
    """Fail with :class:`~pyexec_store.StorageExistsError` if the key exists."""
    content_type: str | None = None


@dataclass(frozen=True)
class FileStat:
    """What a listing tells about one stored file."""

    size: int
    mtime: float | None = None
    """When it was last written (seconds since the epoch), where the storage says."""


@dataclass(frozen=True)
class Digest:
    """Size and SHA-256 of a stored object, and how they were obtained."""

    size: int
    sha256: str
    """Hex digest."""
    method: str = "read back"
    """``"read back"`` (the bytes were read and hashed) or ``"server checksum"``
    (the server checked the bytes against the SHA-256 sent with them, and
    reports it stored)."""


#: Bytes read at a time when hashing or copying a stream.
CHUNK = 1 << 20


class Readable(Protocol):
    """What :meth:`Backend.write_stream` reads from: a binary file, or anything with ``read``."""

    def read(self, size: int = -1, /) -> bytes: ...


def hash_stream(stream: Readable) -> tuple[int, str]:
    """(size, hex SHA-256) of what is left in ``stream``, read in chunks."""
    sha, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        sha.update(chunk)
        size += len(chunk)
    return size, sha.hexdigest()


class Backend(ABC):
    """Bytes at keys below a root. Subclass it to add a storage.

    A write is all or nothing: a reader sees the whole new object or the old
    one, never a part. Methods that take several keys may work concurrently;
    they report per key instead of raising, so callers see which went through.
    """

    protocol: ClassVar[str] = ""
    """The URL scheme this backend serves (``"s3"``), for messages and links."""
    default_url_strategy: ClassVar[str] = "file"
    """The link strategy a store on this backend uses unless told otherwise."""

    @classmethod
    def accepts(cls, option: str) -> bool:
        """Whether the constructor takes ``option`` (settings from the environment
        that a backend cannot use are skipped, not refused)."""
        return True

    # -- the contract -------------------------------------------------------
    @abstractmethod
    def write_many(self, items: Sequence[WriteItem]) -> list[StorageError | None]:
        """Write several objects.

        Returns one outcome per item, in order: ``None`` when it was written,
        else the :class:`~pyexec_store.StorageError` it failed with. Every key
        is checked before anything is written.
        """

    @abstractmethod
    def read_many(self, keys: Sequence[str]) -> dict[str, bytes | StorageError]:
        """The bytes of several objects, by key; a failure is returned, not raised."""

    @abstractmethod
    def find(self, key: str) -> list[str]:
        """Every file below folder ``key``, as paths relative to it, sorted."""

    @abstractmethod
    def listdir(self, key: str) -> list[str]:
        """Names directly inside folder ``key`` (``""``: the root); empty if there is none."""

    @abstractmethod
    def delete(self, keys: Sequence[str]) -> None:
        """Remove these objects; a missing one is not an error."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """The storage's own URL of ``key`` (``""``: the root). Never holds a credential."""

    # -- built on the contract ----------------------------------------------
    def write(
        self, key: str, data: bytes, *, exclusive: bool = False, content_type: str | None = None
    ) -> None:
        """Write one object; raises the :class:`~pyexec_store.StorageError` of a failure."""
        (outcome,) = self.write_many([WriteItem(key, data, exclusive, content_type)])
        if outcome is not None:
            raise outcome

    def read(self, key: str) -> bytes:
        """The bytes of one object."""
        value = self.read_many([key])[key]
        if isinstance(value, StorageError):
            raise value
        return value

    def find_sizes(self, key: str) -> dict[str, int]:
        """Every file below folder ``key`` with its size in bytes (names as :meth:`find`).

        The default reads each file; storages that list sizes override it.
        """
        names = self.find(key)
        contents = self.read_many([f"{key}/{n}" for n in names])
        return {n: len(v) for n in names if isinstance(v := contents[f"{key}/{n}"], bytes)}

    def find_stats(self, key: str) -> dict[str, FileStat]:
        """Every file below folder ``key`` with its size and, where known, modification time.

        The default has sizes only (:meth:`find_sizes`); storages that list
        times override it, which lets an archive skip unchanged files unread.
        """
        return {name: FileStat(size) for name, size in self.find_sizes(key).items()}

    def open_read(self, key: str) -> IO[bytes]:
        """A binary file to read one object from (close it when done).

        The default holds the whole object in memory; storages that can
        stream (local disk) return a real file.
        """
        return io.BytesIO(self.read(key))

    def write_stream(
        self, key: str, stream: Readable, size: int, *, content_type: str | None = None
    ) -> None:
        """Write ``size`` bytes read from ``stream`` as one object, whole or not at all.

        ``stream`` is read once, from its current position, front to back.
        The default reads it whole and calls :meth:`write`; storages that can
        send an object in parts (S3 multipart uploads) override it so memory
        stays bounded by a few parts.
        """
        chunks: list[bytes] = []
        got = 0
        while got < size:  # a raw stream may return fewer bytes than asked
            chunk = stream.read(size - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        data = b"".join(chunks)
        if len(data) != size:
            reason = f"got {len(data)} of {size} bytes"
            raise StorageError("write", self.uri(key), self.endpoint(), reason)
        self.write(key, data, content_type=content_type)

    def digests(self, keys: Sequence[str]) -> dict[str, Digest | StorageError]:
        """Size and SHA-256 of stored objects; a failure (a missing object) is returned.

        The default reads each object back (:meth:`open_read`) and hashes it.
        """
        out: dict[str, Digest | StorageError] = {}
        for key in keys:
            try:
                with self.open_read(key) as stream:
                    out[key] = Digest(*hash_stream(stream))
            except StorageError as exc:
                out[key] = exc
        return out

    def makedirs(self, key: str, *, shared_from: str | None = None) -> None:
        """Create a folder where the storage has folders (object stores have none).

        ``shared_from`` names ``key`` or one of its parents (an execution
        folder): it and the folders below it are where other local users may
        work, so a storage with permissions gives them its shared mode.
        """
        check_relative(key)

    def sync(self, key: str) -> None:  # noqa: B027 - optional, nothing by default
        """Make folder ``key`` and everything in it durable: after a power loss it
        is there as written. Storages that acknowledge only durable writes (S3)
        do nothing."""

    def upath(self, key: str) -> UPath:
        """A :class:`~upath.UPath` naming ``key``, usable on its own."""
        path: UPath = UPath(self.uri(key), **self.path_options())
        return path

    def path_options(self) -> dict[str, Any]:
        """Storage options a :class:`~upath.UPath` of this storage needs."""
        return {}

    def endpoint(self) -> str | None:
        """Where the storage is served from, for messages (a host, never a credential)."""
        return None

    @property
    def location(self) -> str:
        """The root, for messages and reprs: never a credential."""
        return self.uri("")

    def relative(self, path: str) -> str:
        """The key of ``path``: a URL of this storage inside the root, or a key.

        A path without a scheme that is not absolute is already a key (relative
        to the root, on every backend).
        """
        text = self.canonical(path)
        root = self.uri("")  # "memory:///" for a store at the root of its filesystem
        if not root.endswith("/"):
            root += "/"
        if text in (root, root[:-1]):
            return ""
        if text.startswith(root):
            return check_relative(text[len(root) :])
        if "://" not in path and not path.startswith("/"):
            return check_relative(path.strip("/")) if path.strip("/") else ""
        raise PathEscapeError(f"{path!r} is not inside the store root {self.location}")

    def canonical(self, path: str) -> str:
        """``path`` spelled as :meth:`uri` spells it (``memory://x`` as ``memory:///x``)."""
        return path


def reject_unknown_options(options: Iterable[str], allowed: Iterable[str], where: str) -> None:
    """Raise :class:`~pyexec_store.ConfigError` naming the first unknown option.

    The message names the closest valid option, so ``endpont_url`` says
    ``did you mean 'endpoint_url'?``.
    """
    valid = sorted(set(allowed))
    for name in options:
        if name not in valid:
            close = difflib.get_close_matches(name, valid, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = f" (it takes: {', '.join(valid)})" if valid else " (it takes none)"
            raise ConfigError(f"unknown option {name!r} for {where}{hint}{known}")
