"""Local-disk backend (``file://``, ``local://`` and plain paths).

Writes are atomic (a temporary file in the same folder, then a rename), an
exclusive create is a hard link that fails if the name exists (so even a claim
is never seen half-written), and POSIX permissions are applied here and only
here, by policy.

Below the root, folders are walked one at a time with ``O_NOFOLLOW`` and every
file operation is made relative to the folder's descriptor: a symlink planted
inside the store (say in a folder a container user may write) cannot redirect
a write outside it.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from fsspec.implementations.local import LocalFileSystem
from upath import UPath

from ..errors import ConfigError, ConfigTypeError, PathEscapeError, storage_error
from ..layout import check_relative
from .base import WriteItem, reject_unknown_options
from .generic import FsspecBackend

#: (folder mode, file mode) by policy. Setgid keeps the folder's group on what
#: is created inside; no named policy makes a file world-writable.
PERMISSION_POLICIES: dict[str, tuple[int, int]] = {
    "group": (0o2775, 0o664),
    "container": (0o2777, 0o664),  # the seed's folders, so a container user (jovyan) can write
    "private": (0o2700, 0o600),
}
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
#: What link() says on filesystems without hard links (FAT, some FUSE and SMB mounts).
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK}
_counter = itertools.count()


def permission_modes(policy: str | int) -> tuple[int, int]:
    """The (folder, file) modes of a policy name, or of an int folder mode."""
    if isinstance(policy, bool) or not isinstance(policy, (str, int)):
        raise ConfigTypeError(f"permissions must be a policy name or an int, not {policy!r}")
    if isinstance(policy, int):
        if not 0 <= policy <= 0o7777:
            raise ConfigError(f"permissions={policy:#o} is not a file mode")
        return policy, policy & 0o666  # files never get execute, setgid or sticky bits
    try:
        return PERMISSION_POLICIES[policy]
    except KeyError:
        raise ConfigError(
            f"permissions={policy!r}: choose one of {sorted(PERMISSION_POLICIES)} or an int mode"
        ) from None


def local_path(url: str) -> str:
    """``url`` without a ``file://`` or ``local://`` scheme."""
    for scheme in ("file://", "local://"):
        if url.startswith(scheme):
            return url[len(scheme) :]
    return url


class LocalBackend(FsspecBackend):
    """Executions in a folder on this machine.

    Parameters
    ----------
    url
        A path or ``file://`` URL; relative paths are resolved now.
    permissions
        ``"group"`` (folders 2775, files 664; the default), ``"container"``
        (2777/664), ``"private"`` (2700/600) or an int folder mode (files get
        its read and write bits). Applies to the root and what is created in
        it, never to folders above the root.
    """

    protocol: ClassVar[str] = "file"

    def __init__(self, url: str, *, permissions: str | int = "group", **options: Any) -> None:
        reject_unknown_options(options, ("permissions",), "local stores")
        self.dir_mode, self.file_mode = permission_modes(permissions)
        # The root as given (made absolute), which may be a link to self.root.
        self.given_root = os.path.abspath(os.path.expanduser(local_path(url)))
        super().__init__(url)

    @classmethod
    def accepts(cls, option: str) -> bool:
        return option == "permissions"

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

    # -- writing ------------------------------------------------------------
    def _open_root(self) -> int:
        with contextlib.suppress(FileNotFoundError):
            return os.open(self.root, _DIR)  # the root itself may be a link the user chose
        parent = os.path.dirname(self.root)
        os.makedirs(parent, exist_ok=True)  # above the root: no policy, the umask decides
        with contextlib.suppress(FileExistsError):
            os.mkdir(self.root, 0o700)
            os.chmod(self.root, self.dir_mode)  # chmod: the umask must not weaken the policy
        return os.open(self.root, _DIR)

    @contextlib.contextmanager
    def _folder(self, parts: list[str]) -> Iterator[int]:
        """A descriptor of ``root/parts...``, created as needed and opened part by part
        without following links."""
        fd = self._open_root()
        try:
            for part in parts:
                try:
                    child = os.open(part, _DIR | os.O_NOFOLLOW, dir_fd=fd)
                except FileNotFoundError:
                    made = False
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o700, dir_fd=fd)
                        made = True
                    child = os.open(part, _DIR | os.O_NOFOLLOW, dir_fd=fd)
                    if made:
                        os.fchmod(child, self.dir_mode)
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def makedirs(self, key: str) -> None:
        """Create ``key`` and its missing parents with the policy's folder mode."""
        self.full_path(key)  # refuses a key that would leave the root
        with self.errors("create folder", key), self._folder(key.split("/")):
            pass

    def _write(self, item: WriteItem) -> None:
        *parents, name = item.path.split("/")
        with self.errors("write", item.path), self._folder(parents) as folder:
            atomic_write(folder, name, item.data, mode=self.file_mode, exclusive=item.exclusive)


def write_plain_file(folder: str, name: str, data: bytes) -> None:
    """Write one file outside any store, atomically, with the umask's mode (minus world write)."""
    try:
        atomic_write(folder, name, data)
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


def _create_temp(folder: int, name: str) -> tuple[int, str]:
    """Open a new hidden temporary file next to ``name`` (never an existing one)."""
    while True:
        # pid + counter: unique without the random names (and their cost) of mkstemp;
        # O_EXCL still guards against a leftover from a crashed process.
        tmp = f".{name}.{os.getpid()}-{next(_counter)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            # 0o664 before the umask: a temporary file is never world-writable.
            return os.open(tmp, flags, 0o664, dir_fd=folder), tmp
        except FileExistsError:
            continue


def atomic_write(
    folder: str | int, name: str, data: bytes, *, mode: int | None = None, exclusive: bool = False
) -> None:
    """Write ``data`` to ``folder/name`` so that readers see all of it or nothing.

    The bytes go to a temporary file in the same folder, which is then renamed
    over ``name`` (or, with ``exclusive``, hard-linked to it, which fails if
    ``name`` exists). ``folder`` is a path or an open folder descriptor.
    ``mode`` sets the file's permissions exactly; without it they follow the
    umask, as for a plain ``open``, minus world write.
    """
    if isinstance(folder, str):
        fd = os.open(folder, _DIR)
        try:
            return atomic_write(fd, name, data, mode=mode, exclusive=exclusive)
        finally:
            os.close(fd)
    out, tmp = _create_temp(folder, name)
    try:
        try:
            if mode is not None:
                os.fchmod(out, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(out, view) :]
        finally:
            os.close(out)
        if exclusive:
            _link_exclusive(folder, tmp, name, data, 0o664 if mode is None else mode)
            os.unlink(tmp, dir_fd=folder)
        else:
            os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=folder)
        raise


def _link_exclusive(folder: int, tmp: str, name: str, data: bytes, mode: int) -> None:
    """Publish ``tmp`` as ``name`` only if ``name`` does not exist yet.

    A hard link publishes the complete file atomically. Only where the
    filesystem has no hard links does an ``O_EXCL`` create take its place: the
    claim stays exclusive, and a failed write removes the name again.
    """
    try:
        os.link(tmp, name, src_dir_fd=folder, dst_dir_fd=folder, follow_symlinks=False)
        return
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(name, flags, mode, dir_fd=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        os.unlink(name, dir_fd=folder)
        raise
