"""Descriptor-relative file operations of the local backend (_posix.py), seen through it."""

from __future__ import annotations

import errno
import logging
import os
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import pyexec_store as ps
from pyexec_store.backends import _posix

PNG = b"\x89PNG\r\n\x1a\n"


def test_skipped_entries_are_logged_with_their_place(
    local_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = ps.open_store(local_root)
    ctx = store.create_execution("skip")
    key = store.key(ctx.folder_path)
    os.mkfifo(ctx.folder_path / "fifo")
    (ctx.folder_path / "attempts" / "link").symlink_to(tmp_path)
    where = store.backend.uri(key)
    with caplog.at_level(logging.WARNING, logger="pyexec_store"):
        assert store.backend.listdir(key) == ["attempts", "execution_metadata.json"]
        assert store.backend.find(key) == ["execution_metadata.json"]
    assert sorted(r.getMessage() for r in caplog.records) == [
        f"skipped {where}/attempts/link: not a file or folder (links are never followed)",
        f"skipped {where}/fifo: not a file or folder (links are never followed)",
        f"skipped {where}/fifo: not a file or folder (links are never followed)",
    ]


def test_a_special_file_is_not_a_regular_file(local_root: Path) -> None:
    store = ps.open_store(local_root)
    store.backend.makedirs("a")
    os.mkfifo(local_root / "a" / "fifo")
    with pytest.raises(ps.StorageError, match="'fifo' is not a regular file") as info:
        store.backend.read("a/fifo")
    assert info.value.errno == errno.EINVAL


def test_finishing_an_execution_with_planted_links_syncs_around_them(
    local_root: Path, tmp_path: Path
) -> None:
    store = ps.open_store(local_root)
    ctx = store.create_execution("links")
    store.save_results(ctx, {"a": 1})
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    (ctx.folder_path / "attempts" / "folder_link").symlink_to(outside, target_is_directory=True)
    (ctx.folder_path / "file_link").symlink_to(outside / "keep.txt")
    store.finish_execution(ctx)
    assert store.load_results(ctx) == {"a": 1}
    assert (outside / "keep.txt").read_text() == "keep"


def test_deleting_through_a_linked_folder_is_refused(local_root: Path, tmp_path: Path) -> None:
    store = ps.open_store(local_root)
    store.backend.makedirs("a")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    (local_root / "a" / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ps.StorageError, match="symbolic link, not followed") as info:
        store.backend.delete(["a/link/keep.txt"])
    assert (info.value.operation, info.value.path) == (
        "delete",
        store.backend.uri("a/link/keep.txt"),
    )
    assert (outside / "keep.txt").read_text() == "keep"


def test_an_old_temporary_file_of_a_running_writer_is_left_alone(local_root: Path) -> None:
    store = ps.open_store(local_root)
    ctx = store.create_execution("alive")
    writer = subprocess.Popen(
        ["sleep", "60"], preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL)
    )
    try:
        temp = ctx.folder_path / f".results.json.{writer.pid}-0.tmp"
        temp.write_bytes(b"{")
        then = time.time() - 3600
        os.utime(temp, (then, then))
        assert store.backend.find(store.key(ctx.folder_path)) == ["execution_metadata.json"]
        assert temp.exists()
        time.sleep(0.2)
        assert writer.poll() is None  # asked whether it runs (signal 0), never signalled
    finally:
        writer.kill()
        writer.wait()


def test_a_leftover_temporary_name_is_never_reused(local_root: Path) -> None:
    backend = ps.open_store(local_root).backend
    backend.makedirs("a")
    _, (upcoming,) = _posix._counter.__reduce__()  # type: ignore[misc]
    leftovers = [
        local_root / "a" / f".r.json.{os.getpid()}-{n}.tmp" for n in range(upcoming, upcoming + 3)
    ]
    for path in leftovers:
        path.write_bytes(b"leftover")
    backend.write("a/r.json", b"new")
    assert backend.read("a/r.json") == b"new"
    assert all(path.read_bytes() == b"leftover" for path in leftovers)


def no_links(*args: object, **kwargs: object) -> None:
    """os.link on a filesystem without hard links (FAT, some FUSE and SMB mounts)."""
    raise OSError(errno.EPERM, "Operation not permitted")


@pytest.mark.parametrize(("policy", "expected"), [("private", 0o600), ("group", 0o664)])
def test_a_claim_without_hard_links_gets_the_policy_mode(
    local_root: Path, monkeypatch: pytest.MonkeyPatch, policy: str, expected: int
) -> None:
    backend = ps.open_store(local_root, permissions=policy).backend
    backend.makedirs("a")
    monkeypatch.setattr(os, "link", no_links)
    old = os.umask(0o077)  # a strict umask must not weaken the policy here either
    try:
        backend.write("a/claim.json", b"first", exclusive=True)
    finally:
        os.umask(old)
    assert (local_root / "a" / "claim.json").stat().st_mode & 0o7777 == expected
    assert backend.read("a/claim.json") == b"first"


class Listing:
    """What os.scandir gives: entries read once, in a chosen order, the first given first."""

    def __init__(self, entries: list[os.DirEntry[str]]) -> None:
        self.entries = entries

    def __enter__(self) -> Listing:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __iter__(self) -> Iterator[os.DirEntry[str]]:
        return iter(self.entries)


def change_after_listing(
    monkeypatch: pytest.MonkeyPatch, folder: Path, first: str, change: Callable[[], None]
) -> None:
    """Run ``change`` once, right after ``folder`` is listed and before its entries are used.

    As another user of a shared folder could, between a walk's listing and its
    open of an entry. The entry named ``first`` comes first, so entries follow it.
    """
    real = os.scandir
    done = []

    def scandir(path: int) -> Listing:
        with real(path) as found:
            entries = sorted(found, key=lambda e: e.name != first)
        if not done and os.readlink(f"/proc/self/fd/{path}") == str(folder):
            for entry in entries:  # what the listing said, before the change
                entry.is_dir(follow_symlinks=False)
            change()
            done.append(True)
        return Listing(entries)

    monkeypatch.setattr(os, "scandir", scandir)


def test_a_folder_swapped_for_a_link_while_walked_is_skipped_and_the_walk_goes_on(
    local_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = ps.open_store(local_root).backend
    for key in ("a/b/sub/x.txt", "a/b/z.txt", "a/b/other/y.txt", "a/top.txt"):
        backend.write(key, b"mine")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")

    def swap() -> None:
        (local_root / "a" / "b" / "sub").rename(tmp_path / "moved")
        (local_root / "a" / "b" / "sub").symlink_to(outside, target_is_directory=True)

    change_after_listing(monkeypatch, local_root / "a" / "b", "sub", swap)
    with caplog.at_level(logging.WARNING, logger="pyexec_store"):
        found = backend.find("a")
    # Neither the link's target nor the moved folder; everything listed after it still.
    assert found == ["b/other/y.txt", "b/z.txt", "top.txt"]
    assert [r.getMessage() for r in caplog.records] == [
        f"skipped {backend.uri('a')}/b/sub: not a file or folder (links are never followed)"
    ]


def test_a_file_swapped_for_a_link_while_synced_is_not_synced_through_it(
    local_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ps.open_store(local_root).backend
    backend.write("a/f.txt", b"mine")
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"not the store's")
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.fstat(fd).st_ino)
        real_fsync(fd)

    def swap() -> None:
        (local_root / "a" / "f.txt").unlink()
        (local_root / "a" / "f.txt").symlink_to(victim)

    monkeypatch.setattr(os, "fsync", fsync)
    change_after_listing(monkeypatch, local_root / "a", "f.txt", swap)
    try:
        backend.sync("a")
    except ps.StorageError as exc:  # refusing the link is fine; following it is not
        assert exc.errno == errno.ELOOP
    assert victim.stat().st_ino not in synced


def test_a_file_swapped_for_a_fifo_while_synced_does_not_block_the_finish(
    local_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ps.open_store(local_root).backend
    backend.write("a/f.txt", b"mine")
    backend.write("a/g.txt", b"also mine")
    fifo = local_root / "a" / "f.txt"

    def swap() -> None:
        fifo.unlink()
        os.mkfifo(fifo)

    change_after_listing(monkeypatch, local_root / "a", "f.txt", swap)
    finished = threading.Event()
    worker = threading.Thread(target=lambda: (backend.sync("a"), finished.set()), daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():  # blocked opening the FIFO: release it, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5)
    assert finished.is_set()
    assert backend.read("a/g.txt") == b"also mine"


def test_a_stale_temporary_file_removed_meanwhile_is_no_error(
    local_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ps.open_store(local_root).backend
    backend.write("a/r.json", b"{}")
    gone = subprocess.Popen(["true"])
    gone.wait()
    temp = local_root / "a" / f".r.json.{gone.pid}-0.tmp"
    temp.write_bytes(b"{")
    then = time.time() - 3600
    os.utime(temp, (then, then))
    # Another lister removes it first, between this listing and its removal here.
    change_after_listing(monkeypatch, local_root / "a", temp.name, temp.unlink)
    assert backend.find("a") == ["r.json"]


def test_a_link_removed_right_after_its_open_was_refused_gives_the_open_error(
    local_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ps.open_store(local_root).backend
    backend.makedirs("a")
    (tmp_path / "target").write_bytes(b"secret")
    link = local_root / "a" / "link"
    link.symlink_to(tmp_path / "target")
    real_stat = os.stat

    def stat_after_removal(path: str, *args: object, **kwargs: object) -> os.stat_result:
        if path == "link" and link.is_symlink():
            link.unlink()  # its planter removes it before the refusal is explained
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", stat_after_removal)
    with pytest.raises(ps.StorageError) as info:
        backend.read("a/link")
    assert info.value.errno == errno.ELOOP and "secret" not in str(info.value)


def test_a_folder_is_made_0o700_and_only_then_given_its_mode(
    local_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real_fchmod = os.fchmod

    def fchmod(fd: int, mode: int) -> None:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            seen.append(info.st_mode & 0o777)  # (setgid comes from the parent)
        real_fchmod(fd, mode)

    monkeypatch.setattr(os, "fchmod", fchmod)
    old = os.umask(0)  # the most open umask: only mkdir's own mode keeps others out
    try:
        store = ps.open_store(local_root, permissions="container")
        ctx = store.create_execution("new")
        store.save_figure(ctx, PNG)
    finally:
        os.umask(old)
    # root, executed_scripts, month, execution, attempts, figures: none open before its mode
    assert seen == [0o700] * 6
    assert stat.S_IMODE(ctx.folder_path.stat().st_mode) == 0o3777


def test_a_folder_mode_that_cannot_be_set_is_a_permission_error(
    local_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ps.open_store(local_root).backend
    backend.makedirs("a")
    real_fchmod = os.fchmod

    def fchmod(fd: int, mode: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise PermissionError(errno.EPERM, "Operation not permitted")
        real_fchmod(fd, mode)

    monkeypatch.setattr(os, "fchmod", fchmod)
    open_before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(ps.StoragePermissionError) as info:
        backend.write("a/new/r.json", b"{}")
    assert info.value.errno == errno.EPERM and info.value.operation == "write"
    assert len(os.listdir("/proc/self/fd")) == open_before  # its descriptor closed
    assert not (local_root / "a" / "new" / "r.json").exists()


def test_a_failed_folder_sync_after_the_rename_is_a_storage_error(
    local_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ps.open_store(local_root, durable=True).backend
    backend.makedirs("a")
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    for exclusive in (False, True):
        with pytest.raises(ps.StorageError) as info:
            backend.write(f"a/{exclusive}.json", b"{}", exclusive=exclusive)
        assert info.value.errno == errno.EIO and "Input/output error" in str(info.value)
    assert not [p.name for p in (local_root / "a").iterdir() if p.name.startswith(".")]


def test_a_temporary_file_swapped_for_a_link_before_a_claim_is_never_linked_through(
    local_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ps.open_store(local_root).backend
    backend.makedirs("a")
    victim = tmp_path / "victim.json"
    victim.write_bytes(b'{"secret": 1}')
    real_link = os.link

    def swap_then_link(src: str, dst: str, **kwargs: Any) -> None:
        # A group member of a 2775 folder replaces the temporary file before it is published.
        os.unlink(src, dir_fd=kwargs["src_dir_fd"])
        os.symlink(victim, src, dir_fd=kwargs["src_dir_fd"])
        real_link(src, dst, **kwargs)

    monkeypatch.setattr(os, "link", swap_then_link)
    backend.write("a/claim.json", b"{}", exclusive=True)
    monkeypatch.undo()
    assert victim.stat().st_nlink == 1  # never hard-linked into the store
    with pytest.raises(ps.StorageError, match="symbolic link, not followed"):
        backend.read("a/claim.json")
