"""Local-disk specifics: permissions by policy, atomic writes."""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

import pytest

import pyexec_store as ps
from pyexec_store.backends.base import FileStat


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("policy", "folder", "execution", "file"),
    [
        (None, 0o2775, 0o2775, 0o664),
        ("group", 0o2775, 0o2775, 0o664),
        # execution folders and attempts/ open to a container user, sticky; parents not
        ("container", 0o2775, 0o3777, 0o664),
        ("private", 0o2700, 0o2700, 0o600),
        (0o2750, 0o2750, 0o2750, 0o640),
    ],
)
def test_permission_policies(
    local_root: Path, policy: object, folder: int, execution: int, file: int
) -> None:
    old = os.umask(0o077)  # a strict umask must not weaken the policy
    try:
        store = (
            ps.open_store(local_root, permissions=policy) if policy else ps.open_store(local_root)
        )
        ctx = store.create_execution("perm")
        store.save_results(ctx, {"a": 1})
        nb = store.create_attempt_notebook(ctx, "x")
        figure = store.save_figure(ctx, b"\x89PNG\r\n\x1a\n")
    finally:
        os.umask(old)
    for d in (ctx.folder_path, ctx.attempts_folder):
        assert mode(d) == execution, d
    month = ctx.folder_path.parent
    for d in (figure.parent, month, month.parent, local_root):
        assert mode(d) == folder, d
    for f in (ctx.folder_path / "results.json", nb, ctx.folder_path / "execution_metadata.json"):
        assert mode(f) == file, f


def test_nothing_is_world_writable_by_default(local_root: Path) -> None:
    store = ps.open_store(local_root)
    ctx = store.create_execution("w")
    store.save_context(ctx, {})
    store.save_figure(ctx, b"\x89PNG\r\n\x1a\n")
    for path in [local_root, *local_root.rglob("*")]:
        assert not mode(path) & stat.S_IWOTH, path


@pytest.mark.parametrize("bad", ["public", "", 0o17777, -1, 1.5, True])
def test_bad_permissions_are_refused(local_root: Path, bad: object) -> None:
    with pytest.raises((ValueError, TypeError), match="permissions"):
        ps.open_store(local_root, permissions=bad)
    assert not local_root.exists()


def test_permissions_only_apply_to_local_stores(memory_url: str) -> None:
    with pytest.raises(ps.ConfigError, match="unknown option 'permissions' for memory stores"):
        ps.open_store(memory_url, permissions="private")


def test_replacing_a_file_is_atomic(local_root: Path) -> None:
    store = ps.open_store(local_root)
    ctx = store.create_execution("atomic")
    first = store.save_results(ctx, {"v": 1})
    inode = first.stat().st_ino
    store.save_results(ctx, {"v": 2})
    assert first.stat().st_ino != inode  # a new file renamed over the old, never rewritten
    assert store.load_results(ctx) == {"v": 2}


def test_a_failed_write_leaves_nothing(local_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ps.open_store(local_root)
    ctx = store.create_execution("fail")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(ps.StorageError, match="No space left"):
        store.save_results(ctx, {"v": 1})
    assert sorted(p.name for p in ctx.folder_path.iterdir()) == [
        "attempts",
        "execution_metadata.json",
    ]


def test_permission_denied_is_a_permission_error(
    local_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyexec_store.backends import _posix

    store = ps.open_store(local_root)
    ctx = store.create_execution("ro")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_posix, "_create_temp", denied)
    with pytest.raises(ps.StoragePermissionError) as info:
        store.save_context(ctx, {"a": 1})
    assert "context.json" in str(info.value) and "Permission denied" in str(info.value)


def test_file_urls(local_root: Path) -> None:
    store = ps.open_store(f"file://{local_root}")
    ctx = store.create_execution("u")
    results = store.save_results(ctx, [1])
    assert store.url(results) == results.as_uri()
    assert store.url(results).startswith("file:///")


def test_paths_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = ps.open_store("_agent_data")
    ctx = store.create_execution("cwd")
    relative_folder = ctx.folder_path.relative_to(tmp_path)  # _agent_data/executed_scripts/...
    fm = ps.FileManager({"agent_data_dir": "_agent_data"})
    written = fm.save_results({"a": 1}, relative_folder)
    assert written == ctx.folder_path / "results.json"
    # A relative path is relative to the store root, as on every backend (one
    # relative to the working directory that lies inside the root works too).
    inside = ctx.folder_path.relative_to(tmp_path / "_agent_data")
    assert store.url(inside / "results.json") == store.url(written)


def test_folders_above_the_root_keep_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        root = tmp_path / "a" / "b" / "root"
        ps.open_store(root, permissions="container").create_execution("x")
    finally:
        os.umask(old)
    assert mode(tmp_path / "a") == 0o755 and mode(tmp_path / "a" / "b") == 0o755
    assert mode(root) == 0o2775


def test_a_planted_symlink_cannot_redirect_writes(local_root: Path, tmp_path: Path) -> None:
    store = ps.open_store(local_root, permissions="container")
    ctx = store.create_execution("link")
    outside = tmp_path / "outside"
    outside.mkdir()
    (ctx.folder_path / "figures").symlink_to(outside)  # e.g. by another user of a 2777 folder
    with pytest.raises(ps.StorageError, match=r"Not a directory|symbolic link"):
        store.save_figure(ctx, b"\x89PNG\r\n\x1a\n")
    (ctx.folder_path / "results.json").symlink_to(outside / "victim.json")
    store.save_results(ctx, {"a": 1})  # replaces the link itself, never writes through it
    assert list(outside.iterdir()) == []
    assert not (ctx.folder_path / "results.json").is_symlink()


def test_results_written_outside_a_store_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o000)  # even the most open umask gives no world write
    try:
        meta = ps.serialize_results_to_file({"a": 1}, tmp_path / "r.json")
    finally:
        os.umask(old)
    assert meta["success"] and mode(tmp_path / "r.json") == 0o664


def test_a_symlinked_root_accepts_paths_through_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    store = ps.open_store(tmp_path / "link")
    ctx = store.create_execution("via-link")
    through_link = tmp_path / "link" / ctx.folder_path.relative_to(real)
    assert store.open_execution(through_link).folder_path == ctx.folder_path
    assert store.url(through_link / "execution_metadata.json").startswith("file://")
    # A root that is a symlink (chosen by whoever opens the store) is followed.
    assert [r.path for r in store.list_executions()] == [ctx.folder_path]


def test_claim_without_hard_links_is_exclusive_and_leaves_nothing_on_failure(
    local_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    store = ps.open_store(local_root)
    store.create_execution("warm")  # folders exist

    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    store.backend.write("executed_scripts/claim.json", b"first", exclusive=True)
    with pytest.raises(ps.StorageExistsError):
        store.backend.write("executed_scripts/claim.json", b"second", exclusive=True)
    assert (local_root / "executed_scripts" / "claim.json").read_bytes() == b"first"

    real_fdopen = os.fdopen

    def full_disk(fd: int, *args: object, **kwargs: object) -> object:
        f = real_fdopen(fd, *args, **kwargs)  # type: ignore[call-overload]

        def write(data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        f.write = write  # type: ignore[method-assign]
        return f

    monkeypatch.setattr(os, "fdopen", full_disk)
    with pytest.raises(ps.StorageError, match="No space left"):
        store.backend.write("executed_scripts/other.json", b"x" * 100, exclusive=True)
    names = sorted(p.name for p in (local_root / "executed_scripts").iterdir())
    assert "other.json" not in names and "claim.json" in names
    assert not any(n.startswith(".") for n in names)


def test_shared_folders_must_hold_the_created_folder(local_root: Path) -> None:
    backend = ps.open_store(local_root).backend
    with pytest.raises(ps.ConfigError, match="shared_from"):
        backend.makedirs("a/b", shared_from="a/c")
    assert not local_root.exists()


def test_urls_through_a_symlinked_root_name_keys(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    store = ps.open_store(tmp_path / "link")
    store.backend.write("a/r.json", b"{}")
    # The root as the user gave it, with either scheme, as well as the resolved one.
    for url in (
        f"file://{tmp_path}/link/a/r.json",
        f"local://{tmp_path}/link/a/r.json",
        f"file://{real}/a/r.json",
    ):
        assert store.key(url) == "a/r.json", url


def test_a_stores_own_file_urls_are_keys_again_whatever_the_roots_name(tmp_path: Path) -> None:
    # file:// URLs are percent-encoded (RFC 8089): a space is %20, % is %25.
    root = tmp_path / "my store 100%"
    store = ps.open_store(root)
    store.backend.write("a/r r.json", b"{}")
    url = store.backend.uri("a/r r.json")
    assert url == f"file://{tmp_path}/my%20store%20100%25/a/r%20r.json"
    assert store.key(url) == "a/r r.json"
    again = ps.open_store(root.as_uri())
    assert again.backend.read("a/r r.json") == b"{}"
    # Decoded, then checked like any path: an encoded ../ does not leave the root.
    with pytest.raises(ps.PathEscapeError):
        store.key(root.as_uri() + "/%2E%2E/elsewhere.json")


def test_a_path_outside_the_root_is_refused_naming_it_and_the_root(
    local_root: Path, tmp_path: Path
) -> None:
    store = ps.open_store(local_root)
    elsewhere = tmp_path / "elsewhere" / "r.json"
    expected = f"'{elsewhere}' is not inside the store root {local_root}"
    with pytest.raises(ps.PathEscapeError, match=re.escape(expected)):
        store.key(elsewhere)


@pytest.mark.parametrize("name", ["store ", "storeX"])
def test_a_root_name_ending_in_a_space_or_an_x_is_matched_whole(tmp_path: Path, name: str) -> None:
    root = tmp_path / name
    store = ps.open_store(root)
    store.backend.write("a/r.json", b"{}")
    assert store.key(root / "a" / "r.json") == "a/r.json"
    assert store.key(root) == ""
    sibling = tmp_path / "store"  # the root's name without its last character
    for outside in (sibling, sibling / "a" / "r.json"):
        with pytest.raises(ps.PathEscapeError):
            store.key(outside)


def test_reading_a_key_outside_the_root_is_refused_before_anything_is_read(
    local_root: Path, tmp_path: Path
) -> None:
    backend = ps.open_store(local_root).backend
    backend.write("a/r.json", b"{}")
    (tmp_path / "outside.txt").write_bytes(b"outside")
    with pytest.raises(ps.PathEscapeError):
        backend.read_many(["a/r.json", "../outside.txt"])


def test_listings_give_each_files_modification_time(local_root: Path) -> None:
    backend = ps.open_store(local_root).backend
    backend.write("a/b/r.json", b"{}")
    backend.write("a/c.txt", b"hello")
    os.utime(local_root / "a" / "b" / "r.json", ns=(1_700_000_000_500_000_000,) * 2)
    os.utime(local_root / "a" / "c.txt", ns=(1_600_000_000_000_000_000,) * 2)
    assert backend.find_stats("a") == {
        "b/r.json": FileStat(2, 1_700_000_000.5),
        "c.txt": FileStat(5, 1_600_000_000.0),
    }


def test_open_read_streams_the_file_itself_never_through_a_link(local_root: Path) -> None:
    backend = ps.open_store(local_root).backend
    backend.write("a/b/r.json", b"data")
    with backend.open_read("a/b/r.json") as f:
        assert f.read() == b"data"
    (local_root / "a" / "file_link").symlink_to(local_root / "a" / "b" / "r.json")
    (local_root / "folder_link").symlink_to(local_root / "a" / "b", target_is_directory=True)
    for key, name in (("a/file_link", "file_link"), ("folder_link/r.json", "folder_link")):
        with pytest.raises(ps.StorageError, match="symbolic link, not followed") as info:
            backend.open_read(key)
        assert info.value.errno == errno.ELOOP and name in str(info.value)
        assert (info.value.operation, info.value.path) == ("read", backend.uri(key))
    with pytest.raises(ps.PathEscapeError):
        backend.open_read("a/../../outside.txt")


def test_open_read_of_a_missing_key_creates_nothing(local_root: Path) -> None:
    backend = ps.open_store(local_root).backend
    backend.makedirs("a")
    with pytest.raises(ps.StorageNotFoundError) as info:
        backend.open_read("a/x/y/missing.json")
    assert (info.value.operation, info.value.path) == ("read", backend.uri("a/x/y/missing.json"))
    assert list((local_root / "a").iterdir()) == []
