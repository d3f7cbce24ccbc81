"""Descriptor-relative file operations of the local backend (_posix.py), seen through it."""

from __future__ import annotations

import errno
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

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
