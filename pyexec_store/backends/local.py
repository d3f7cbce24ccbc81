"""Local-disk backend (``file://`` and plain paths).

Writes are atomic (a temporary file in the same folder, then a rename), an
exclusive create is a hard link that fails if the name exists (so even a claim
is never seen half-written), and POSIX permissions are applied here and only
here, by policy.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from pathlib import Path
from typing import Any, ClassVar

from fsspec.implementations.local import LocalFileSystem

from ..errors import ConfigError, ConfigTypeError
from .base import Backend

#: Folder modes by policy. Setgid keeps the folder's group on what is created inside.
PERMISSION_POLICIES: dict[str, int] = {
    "group": 0o2775,
    "container": 0o2777,  # the seed's mode, so a container user (jovyan) can write
    "private": 0o2700,
}


def folder_mode(policy: str | int) -> int:
    """The folder mode of a permission policy (a name above or an int mode)."""
    if isinstance(policy, bool) or not isinstance(policy, (str, int)):
        raise ConfigTypeError(f"permissions must be a policy name or an int, not {policy!r}")
    if isinstance(policy, int):
        if not 0 <= policy <= 0o7777:
            raise ConfigError(f"permissions={policy:#o} is not a file mode")
        return policy
    try:
        return PERMISSION_POLICIES[policy]
    except KeyError:
        raise ConfigError(
            f"permissions={policy!r}: choose one of {sorted(PERMISSION_POLICIES)} or an int mode"
        ) from None


class LocalBackend(Backend):
    """Executions in a folder on this machine.

    Parameters
    ----------
    url
        A path or ``file://`` URL; relative paths are resolved now.
    permissions
        ``"group"`` (folders 2775, files 664; the default), ``"container"``
        (2777/666), ``"private"`` (2700/600) or an int folder mode; files get the
        folder mode's read and write bits.
    """

    protocol: ClassVar[str] = "file"

    def __init__(self, url: str, *, permissions: str | int = "group", **storage_options: Any):
        self.dir_mode = folder_mode(permissions)
        # Files never get execute, setgid or sticky bits.
        self.file_mode = self.dir_mode & 0o666
        self._made: set[str] = set()
        self._made_lock = threading.Lock()
        super().__init__(url, **storage_options)

    def _open_fs(self, url: str) -> tuple[LocalFileSystem, str]:
        for scheme in ("file://", "local://"):
            if url.startswith(scheme):
                url = url[len(scheme) :]
        path = url
        return LocalFileSystem(), str(Path(path).expanduser().resolve())

    def relative(self, path: str | Any) -> str:
        text = str(path)
        if text.startswith("file://"):
            text = text[len("file://") :]
        # A relative local path means relative to the working directory, as everywhere.
        return super().relative(os.path.abspath(text))

    def upath(self, rel: str) -> Any:
        from upath import UPath

        return UPath(self.full_path(rel))

    def uri(self, rel: str) -> str:
        return Path(self.full_path(rel)).as_uri()

    def describe(self) -> str:
        return self.root

    def makedirs(self, rel: str) -> None:
        """Create ``rel`` and its missing parents with the policy's folder mode."""
        if rel in self._made:
            return
        with self.errors("create folder", rel):
            missing: list[str] = []
            path = Path(self.full_path(rel))
            while not path.exists():
                missing.append(str(path))
                path = path.parent
            for folder in reversed(missing):
                with contextlib.suppress(FileExistsError):
                    os.mkdir(folder)
                    # chmod, not mkdir's mode: the umask must not weaken the policy.
                    os.chmod(folder, self.dir_mode)
        with self._made_lock:
            self._made.add(rel)

    def write(
        self, rel: str, data: bytes, *, exclusive: bool = False, content_type: str | None = None
    ) -> None:
        parent_rel = rel.rsplit("/", 1)[0] if "/" in rel else ""
        if parent_rel:
            self.makedirs(parent_rel)
        with self.errors("write", rel):
            atomic_write(self.full_path(rel), data, mode=self.file_mode, exclusive=exclusive)


_counter = itertools.count()


def _create_temp(target: str) -> tuple[int, str]:
    """Open a new hidden temporary file next to ``target`` (never an existing one)."""
    folder, name = os.path.split(target)
    while True:
        # pid + counter: unique without the random names (and their cost) of mkstemp;
        # O_EXCL still guards against a leftover from a crashed process.
        tmp = os.path.join(folder, f".{name}.{os.getpid()}-{next(_counter)}.tmp")
        try:
            # 0o664 before the umask: a temporary file is never world-writable.
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o664), tmp
        except FileExistsError:
            continue


def atomic_write(
    target: str, data: bytes, *, mode: int | None = None, exclusive: bool = False
) -> None:
    """Write ``data`` to ``target`` so that readers see all of it or nothing.

    The bytes go to a temporary file in the same folder, which is then renamed
    over ``target`` (or, with ``exclusive``, hard-linked to it, which fails if
    ``target`` exists). ``mode`` sets the file's permissions exactly; without
    it they follow the umask, as for a plain ``open``, minus world write.
    """
    fd, tmp = _create_temp(target)
    try:
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        if exclusive:
            _link_exclusive(tmp, target, data, 0o664 if mode is None else mode)
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _link_exclusive(tmp: str, target: str, data: bytes, mode: int) -> None:
    """Publish ``tmp`` as ``target`` only if ``target`` does not exist yet.

    A hard link publishes the complete file atomically; where the filesystem
    has no hard links, ``O_EXCL`` still makes the claim exclusive.
    """
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
