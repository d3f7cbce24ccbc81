"""Local-disk backend (``file://``, ``local://`` and plain paths).

Writes are atomic (a temporary file in the same folder, then a rename), an
exclusive create is a hard link that fails if the name exists (so even a claim
is never seen half-written), and POSIX permissions are applied here and only
here, by policy, through descriptors (never by path).

Below the root nothing follows a symlink: folders are walked one at a time
with ``O_NOFOLLOW`` and every read, write, listing and removal is made relative
to the folder's descriptor (:mod:`._posix`). A symlink planted inside the
store (say in an execution folder a container user may write) cannot redirect
a write, leak a file into a read, or put a folder into a listing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, NamedTuple
from urllib.parse import unquote

from fsspec.implementations.local import LocalFileSystem
from upath import UPath

from ..errors import ConfigError, ConfigTypeError, PathEscapeError, StorageError, storage_error
from ..layout import check_relative
from . import _posix
from ._posix import atomic_write
from .base import FileStat, WriteItem, reject_unknown_options
from .generic import FsspecBackend


class Modes(NamedTuple):
    """The modes a permission policy gives."""

    folders: int
    """The root, ``executed_scripts/``, month folders, ``figures/``."""
    files: int
    """Every file written."""
    shared: int
    """Execution folders and their ``attempts/``: where other local users may work."""


#: Modes by policy. Setgid keeps the folder's group on what is created inside;
#: no named policy makes a file world-writable. ``container`` opens execution
#: folders and their ``attempts/`` to every local user (a container user such
#: as jovyan, whose uid differs) with the sticky bit, so nobody can rename or
#: delete a file someone else wrote there; the folders above them stay 2775,
#: so nobody can move or remove another user's execution.
PERMISSION_POLICIES: dict[str, Modes] = {
    "group": Modes(0o2775, 0o664, 0o2775),
    "container": Modes(0o2775, 0o664, 0o3777),
    "private": Modes(0o2700, 0o600, 0o2700),
}


def permission_modes(policy: str | int) -> Modes:
    """The modes of a policy name, or of an int folder mode (used for every folder)."""
    if isinstance(policy, bool) or not isinstance(policy, (str, int)):
        raise ConfigTypeError(f"permissions must be a policy name or an int, not {policy!r}")
    if isinstance(policy, int):
        if not 0 <= policy <= 0o7777:
            raise ConfigError(f"permissions={policy:#o} is not a file mode")
        # files never get execute, setgid or sticky bits
        return Modes(policy, policy & 0o666, policy)
    try:
        return PERMISSION_POLICIES[policy]
    except KeyError:
        raise ConfigError(
            f"permissions={policy!r}: choose one of {sorted(PERMISSION_POLICIES)} or an int mode"
        ) from None


def local_path(url: str) -> str:
    """``url`` without a ``file://`` or ``local://`` scheme.

    A ``file://`` URL is percent-decoded (RFC 8089), as :meth:`LocalBackend.uri`
    encodes it: ``file:///tmp/my%20store`` is ``/tmp/my store``.
    """
    if url.startswith("file://"):
        return unquote(url[len("file://") :])
    if url.startswith("local://"):
        return url[len("local://") :]
    return url


class LocalBackend(FsspecBackend):
    """Executions in a folder on this machine.

    Nothing below the root is reached through a symlink: reading a key whose
    file or folder is a symlink raises a :class:`~pyexec_store.StorageError`
    (errno ``ELOOP``, "is a symbolic link, not followed"), listings skip
    symlinks, writes replace them. The root itself may be a symlink you chose.

    Parameters
    ----------
    url
        A path or ``file://`` URL; relative paths are resolved now.
    permissions
        ``"group"`` (folders 2775, files 664; the default), ``"container"``
        (execution folders and their ``attempts/`` 3777, other folders 2775,
        files 664), ``"private"`` (2700/600) or an int folder mode used for
        every folder (files get its read and write bits). Applies to the root
        and what is created in it, never to folders above the root; see
        :data:`PERMISSION_POLICIES`.
    durable
        When writes reach the disk for sure (they are always atomic):
        ``None`` (default) syncs a whole execution once, when it finishes;
        ``True`` syncs every write (file, then folder) before it returns;
        ``False`` never syncs (the operating system writes back in its own time).
    """

    protocol: ClassVar[str] = "file"

    def __init__(
        self,
        url: str,
        *,
        permissions: str | int = "group",
        durable: bool | None = None,
        **options: Any,
    ) -> None:
        reject_unknown_options(options, ("permissions", "durable"), "local stores")
        if durable is not None and not isinstance(durable, bool):
            raise ConfigTypeError(f"durable must be None, True or False, not {durable!r}")
        self.durable = durable
        self.modes = permission_modes(permissions)
        # The root as given (made absolute), which may be a link to self.root.
        self.given_root = os.path.abspath(os.path.expanduser(local_path(url)))
        super().__init__(url)

    @classmethod
    def accepts(cls, option: str) -> bool:
        return option in ("permissions", "durable")

    def _open_fs(self, url: str) -> tuple[LocalFileSystem, str]:
        return LocalFileSystem(), str(Path(local_path(url)).expanduser().resolve())

    # -- locations ----------------------------------------------------------
    def relative(self, path: str) -> str:
        """The key of ``path``: absolute, ``file://``, or relative.

        A relative path is relative to the root, as on every backend; one
        relative to the working directory that lies inside the root works too.
        """
        text = local_path(str(path))
        if not os.path.isabs(text):
            absolute = os.path.abspath(text)
            if self._inside(absolute) is None:
                return super().relative(text)  # a key
            text = absolute
        key = self._inside(os.path.normpath(text))
        if key is None:
            raise PathEscapeError(f"{str(path)!r} is not inside the store root {self.root}")
        return check_relative(key) if key else ""

    def _inside(self, absolute: str) -> str | None:
        """The key of an absolute path inside the root (as resolved or as given)."""
        for root in (self.root, self.given_root):
            root = root.rstrip("/") or "/"
            if absolute == root:
                return ""
            if absolute.startswith(root.rstrip("/") + "/"):
                return absolute[len(root.rstrip("/")) + 1 :]
        return None

    def uri(self, key: str) -> str:
        return Path(self.full_path(key)).as_uri()

    def upath(self, key: str) -> UPath:
        return UPath(self.full_path(key))

    def path_options(self) -> dict[str, Any]:
        return {}

    @property
    def location(self) -> str:
        return self.root

    # -- folders ------------------------------------------------------------
    def _open_root(self, create: bool) -> int:
        try:
            return os.open(self.root, _posix.DIR)  # the root itself may be a link the user chose
        except FileNotFoundError:
            if not create:
                raise
        parent, name = os.path.split(self.root)
        os.makedirs(parent, exist_ok=True)  # above the root: no policy, the umask decides
        parent_fd = os.open(parent, _posix.DIR)
        try:
            # Made and given its mode through a descriptor: a root swapped for a
            # symlink right after mkdir is refused, its target left as it was.
            return _posix.open_folder(parent_fd, name, self.modes.folders)
        finally:
            os.close(parent_fd)

    @contextlib.contextmanager
    def _folder(
        self, parts: Sequence[str], *, create: bool = True, shared_depth: int | None = None
    ) -> Iterator[int]:
        """A descriptor of ``root/parts...``, opened part by part without following links.

        With ``create``, missing folders are made: those from ``parts[shared_depth - 1]``
        on get the policy's shared mode, the others its folder mode. Without,
        a missing folder is ``FileNotFoundError``.
        """
        fd = self._open_root(create)
        try:
            for depth, part in enumerate(parts, 1):
                mode = None
                if create:
                    shared = shared_depth is not None and depth >= shared_depth
                    mode = self.modes.shared if shared else self.modes.folders
                child = _posix.open_folder(fd, part, mode)
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def makedirs(self, key: str, *, shared_from: str | None = None) -> None:
        """Create ``key`` and its missing parents with the policy's modes.

        Folders from ``shared_from`` (``key`` or one of its parents) down get
        the policy's shared mode (3777 under ``container``), the others its
        folder mode.
        """
        self.full_path(key)  # refuses a key that would leave the root
        depth = None
        if shared_from is not None:
            if key != shared_from and not key.startswith(f"{shared_from}/"):
                raise ConfigError(f"shared_from={shared_from!r} is not {key!r} or a parent of it")
            depth = shared_from.count("/") + 1
        with self.errors("create folder", key), self._folder(key.split("/"), shared_depth=depth):
            pass

    # -- the contract -------------------------------------------------------
    def _write(self, item: WriteItem) -> None:
        *parents, name = item.path.split("/")
        with self.errors("write", item.path), self._folder(parents) as folder:
            atomic_write(
                folder,
                name,
                item.data,
                mode=self.modes.files,
                exclusive=item.exclusive,
                durable=self.durable is True,
            )

    def read_many(self, keys: Sequence[str]) -> dict[str, bytes | StorageError]:
        by_folder: dict[str, list[str]] = {}
        for key in keys:
            self.full_path(key)  # refuse a bad key before anything is read
            by_folder.setdefault(key.rpartition("/")[0], []).append(key)
        out: dict[str, bytes | StorageError] = {}
        for parent, group in by_folder.items():
            try:
                with self._folder(_parts(parent), create=False) as fd:
                    for key in group:
                        try:
                            out[key] = _posix.read_file(fd, key.rpartition("/")[2])
                        except OSError as exc:
                            out[key] = self.translate(exc, "read", key)
            except OSError as exc:  # the folder: every key in it fails alike
                for key in group:
                    out.setdefault(key, self.translate(exc, "read", key))
        return out

    def sync(self, key: str) -> None:
        """fsync every file and folder of ``key``, and the folders above it up to
        the root, so a new folder's name is durable too (unless ``durable=False``)."""
        if self.durable is False:
            return
        parts = _parts(key)
        with self.errors("sync", key):
            for depth in range(len(parts)):
                with self._folder(parts[:depth], create=False) as fd:
                    os.fsync(fd)
            with self._folder(parts, create=False) as fd:
                _posix.sync_tree(fd)

    def find(self, key: str) -> list[str]:
        """Every regular file below folder ``key``; symlinks are skipped, never followed.

        Temporary files of writes in progress are not listed, and those a
        killed writer left behind are removed on the way.
        """
        return list(self.find_sizes(key))

    def find_sizes(self, key: str) -> dict[str, int]:
        return {name: found.size for name, found in self.find_stats(key).items()}

    def find_stats(self, key: str) -> dict[str, FileStat]:
        self.full_path(key)
        with self.errors("list", key):
            try:
                with self._folder(_parts(key), create=False) as fd:
                    stats = _posix.stats_below(fd, self.uri(key))
            except FileNotFoundError:
                return {}
        return {name: FileStat(size, mtime) for name, (size, mtime) in stats.items()}

    def open_read(self, key: str) -> BinaryIO:
        """The file itself, opened without following a symlink: streamed, never held whole."""
        *folder, name = check_relative(key).split("/")
        with self.errors("read", key), self._folder(folder, create=False) as fd:
            return _posix.open_file(fd, name)

    def listdir(self, key: str) -> list[str]:
        """Files and folders directly inside ``key``; symlinks are skipped, never followed."""
        self.full_path(key)
        with self.errors("list", key):
            try:
                with self._folder(_parts(key), create=False) as fd:
                    return _posix.listdir(fd, self.uri(key))
            except FileNotFoundError:
                return []

    def delete(self, keys: Sequence[str]) -> None:
        """Remove these files, then the folders that held them if they are now empty.

        Only the direct parents of the keys (and empty folders inside them) are
        removed, never the root; symlinks are removed themselves, never followed.
        """
        for key in keys:
            self.full_path(key)
        parents = {key.rpartition("/")[0] for key in keys} - {""}
        for key in keys:
            self._remove(key, _posix.remove)
        # In any order: a parent holding only emptied folders removes them first.
        for parent in parents:
            self._remove(parent, _posix.remove_empty_folder)

    def _remove(self, key: str, remove: Callable[[int, str], None]) -> None:
        """``remove(folder descriptor, name)`` for ``key``; nothing if its folder is gone."""
        *folder, name = key.split("/")
        with (
            self.errors("delete", key),
            contextlib.suppress(FileNotFoundError),
            self._folder(folder, create=False) as fd,
        ):
            remove(fd, name)


def _parts(key: str) -> list[str]:
    """The folder names of ``key`` (none for the root)."""
    return key.split("/") if key else []


def write_plain_file(folder: str, name: str, data: bytes) -> None:
    """Write one file outside any store, atomically, with the umask's mode (minus world write)."""
    try:
        fd = os.open(folder, _posix.DIR)
        try:
            atomic_write(fd, name, data)
        finally:
            os.close(fd)
    except OSError as exc:
        raise storage_error(exc, "write", os.path.join(folder, name)) from None


def read_plain_file(folder: str, name: str) -> bytes:
    """The bytes of one file outside any store."""
    path = os.path.join(folder, name)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise storage_error(exc, "read", path) from None
