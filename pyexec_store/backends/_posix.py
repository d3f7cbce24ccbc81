"""Descriptor-relative file operations for the local backend; none follows a symlink.

Every function works on names inside a folder given as an open descriptor, so
a path is never looked up again after its folder was opened: a symlink planted
in a folder (say by a container user of an execution folder) is refused by
``O_NOFOLLOW`` when read or walked into, skipped when listing, and replaced,
never written through, when a file is written.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import os
import re
import stat
import time
from typing import BinaryIO

logger = logging.getLogger("pyexec_store")

DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a planted FIFO must not block the reader before it is refused.
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
#: What link() says on filesystems without hard links (FAT, some FUSE and SMB mounts).
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK}
#: Temporary files: ``.<name>.<pid>-<n>.tmp``, next to the file they will replace.
_TEMP = re.compile(r"^\..+\.(?P<pid>\d+)-\d+\.tmp$")
#: A temporary file is stale once its writer is gone and it has not grown for this long.
STALE_AFTER = 60.0
_counter = itertools.count()


def not_followed(folder: int, name: str, exc: OSError) -> OSError:
    """``exc``, or a clearer error if ``name`` is a symlink that was not followed."""
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        with contextlib.suppress(OSError):
            if stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode):
                return OSError(errno.ELOOP, f"{name!r} is a symbolic link, not followed")
    return exc


def open_folder(parent: int, name: str, mode: int | None = None) -> int:
    """A descriptor of folder ``name`` inside ``parent``, never through a symlink.

    With ``mode``, a missing folder is created and given exactly that mode
    through its descriptor (so the umask cannot weaken it and a swapped path
    cannot redirect it); without, a missing folder is ``FileNotFoundError``.
    """
    made = False
    try:
        # Opened first: the folders of a path mostly exist, so most calls need no mkdir.
        fd = os.open(name, DIR | os.O_NOFOLLOW, dir_fd=parent)
    except FileNotFoundError:
        if mode is None:
            raise  # a missing name is never a link that was not followed
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o700, dir_fd=parent)
            made = True
        try:
            fd = os.open(name, DIR | os.O_NOFOLLOW, dir_fd=parent)
        except OSError as exc:
            raise not_followed(parent, name, exc) from None
    except OSError as exc:
        raise not_followed(parent, name, exc) from None
    if made and mode is not None:
        try:
            os.fchmod(fd, mode)
        except BaseException:
            os.close(fd)
            raise
    return fd


def read_file(folder: int, name: str) -> bytes:
    """The bytes of the regular file ``name`` inside ``folder``."""
    with open_file(folder, name) as f:
        return f.read()


def open_file(folder: int, name: str) -> BinaryIO:
    """The regular file ``name`` inside ``folder``, open for reading (never a link or FIFO)."""
    try:
        fd = os.open(name, _READ, dir_fd=folder)
    except OSError as exc:
        raise not_followed(folder, name, exc) from None
    f = open(fd, "rb")  # noqa: SIM115 - the caller closes it
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        raise OSError(errno.EINVAL, f"{name!r} is not a regular file")
    return f


def _is_temp(name: str) -> bool:
    return _TEMP.match(name) is not None


def listdir(folder: int, where: str) -> list[str]:
    """Names of the files and folders inside ``folder``, sorted.

    Symlinks and special files are skipped (and logged), and so are
    temporary files of writes in progress.
    """
    names = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) or entry.is_file(follow_symlinks=False):
                if not _is_temp(entry.name):
                    names.append(entry.name)
            else:
                _skipped(where, entry.name)
    return sorted(names)


def stats_below(folder: int, where: str) -> dict[str, tuple[int, float]]:
    """Every regular file below ``folder`` (relative path -> (size, modification time
    in seconds)), sorted by path.

    Symlinks are skipped (and logged), never followed. Temporary files are
    skipped too, and those left by a writer that died are removed.
    """
    found: dict[str, tuple[int, float]] = {}
    _files_below(folder, where, "", found)
    return dict(sorted(found.items()))


def _files_below(folder: int, where: str, prefix: str, found: dict[str, tuple[int, float]]) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                try:
                    child = open_folder(folder, entry.name)
                except OSError:  # replaced or removed since it was listed
                    _skipped(where, prefix + entry.name)
                    continue
                try:
                    _files_below(child, where, f"{prefix}{entry.name}/", found)
                finally:
                    os.close(child)
            elif not entry.is_file(follow_symlinks=False):
                _skipped(where, prefix + entry.name)
            elif _is_temp(entry.name):
                _remove_if_stale(folder, entry)
            else:
                info = entry.stat(follow_symlinks=False)
                found[prefix + entry.name] = (info.st_size, info.st_mtime_ns / 1e9)


def sync_tree(folder: int) -> None:
    """fsync every regular file and folder below ``folder`` (links never followed),
    then ``folder`` itself."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                child = open_folder(folder, entry.name)
                try:
                    sync_tree(child)
                finally:
                    os.close(child)
            elif entry.is_file(follow_symlinks=False) and not _is_temp(entry.name):
                # Non-blocking, and checked again once open: the file may have
                # been swapped for a FIFO since it was listed.
                fd = os.open(entry.name, _READ, dir_fd=folder)
                try:
                    if stat.S_ISREG(os.fstat(fd).st_mode):
                        os.fsync(fd)
                finally:
                    os.close(fd)
    os.fsync(folder)


def _skipped(where: str, name: str) -> None:
    logger.warning("skipped %s/%s: not a file or folder (links are never followed)", where, name)


def _remove_if_stale(folder: int, entry: os.DirEntry[str]) -> None:
    """Remove a temporary file whose writer is gone (killed mid-write).

    Gone means: no process of its pid runs on this machine, and the file has
    not changed for :data:`STALE_AFTER` seconds (a writer on another machine
    or in another pid namespace keeps it changing while it writes).
    """
    match = _TEMP.match(entry.name)
    with contextlib.suppress(OSError):
        if match is None or time.time() - entry.stat(follow_symlinks=False).st_mtime < STALE_AFTER:
            return
        try:
            os.kill(int(match["pid"]), 0)
            return  # its writer still runs
        except ProcessLookupError:
            pass
        except PermissionError:
            return  # a process of another user
        os.unlink(entry.name, dir_fd=folder)


def remove(folder: int, name: str) -> None:
    """Remove the file (or symlink itself) ``name`` in ``folder``; a missing one is fine."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=folder)


def remove_empty_folder(parent: int, name: str) -> None:
    """Remove folder ``name`` in ``parent`` if it holds nothing but empty folders."""
    try:
        fd = open_folder(parent, name)
    except FileNotFoundError:
        return
    try:
        with os.scandir(fd) as entries:
            children = list(entries)
        if not all(child.is_dir(follow_symlinks=False) for child in children):
            return
        for child in children:
            remove_empty_folder(fd, child.name)
    finally:
        os.close(fd)
    try:
        os.rmdir(name, dir_fd=parent)
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
            raise


def _create_temp(folder: int, name: str) -> tuple[int, str]:
    """Open a new hidden temporary file next to ``name`` (never an existing one)."""
    while True:
        # pid + counter: unique without the random names (and their cost) of mkstemp;
        # O_EXCL still guards against a leftover from a crashed process.
        tmp = f".{name}.{os.getpid()}-{next(_counter)}.tmp"
        try:
            # 0o664 before the umask: a temporary file is never world-writable.
            return os.open(tmp, _NEW, 0o664, dir_fd=folder), tmp
        except FileExistsError:
            continue


def atomic_write(
    folder: int,
    name: str,
    data: bytes,
    *,
    mode: int | None = None,
    exclusive: bool = False,
    durable: bool = False,
) -> None:
    """Write ``data`` to ``folder/name`` so that readers see all of it or nothing.

    The bytes go to a temporary file in the same folder, which is then renamed
    over ``name`` (or, with ``exclusive``, hard-linked to it, which fails if
    ``name`` exists). ``folder`` is an open folder descriptor.
    ``mode`` sets the file's permissions exactly; without it they follow the
    umask, as for a plain ``open``, minus world write. With ``durable``, the
    file and then the folder are synced to disk before it returns.
    """
    out, tmp = _create_temp(folder, name)
    try:
        try:
            if mode is not None:
                os.fchmod(out, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(out, view) :]
            if durable:
                os.fsync(out)
        finally:
            os.close(out)
        if exclusive:
            _link_exclusive(folder, tmp, name, data, mode, durable)
            os.unlink(tmp, dir_fd=folder)
        else:
            os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
        if durable:
            os.fsync(folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=folder)
        raise


def _link_exclusive(
    folder: int, tmp: str, name: str, data: bytes, mode: int | None, durable: bool
) -> None:
    """Publish ``tmp`` as ``name`` only if ``name`` does not exist yet.

    A hard link publishes the complete file atomically. Only where the
    filesystem has no hard links does an ``O_EXCL`` create take its place: the
    claim stays exclusive, gets the same mode and durability as ``tmp``, and a
    failed write removes the name again.
    """
    try:
        os.link(tmp, name, src_dir_fd=folder, dst_dir_fd=folder, follow_symlinks=False)
        return
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
    # As _create_temp: 0o664 before the umask, then the exact mode through the descriptor.
    fd = os.open(name, _NEW, 0o664, dir_fd=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.fchmod(fd, mode)
            f.write(data)
            if durable:
                f.flush()
                os.fsync(fd)
    except BaseException:
        os.unlink(name, dir_fd=folder)
        raise
