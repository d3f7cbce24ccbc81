"""Local-disk specifics: permissions by policy, atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import pyexec_store as ps


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("policy", "folder", "file"),
    [
        (None, 0o2775, 0o664),
        ("group", 0o2775, 0o664),
        ("container", 0o2777, 0o666),
        ("private", 0o2700, 0o600),
        (0o2750, 0o2750, 0o640),
    ],
)
def test_permission_policies(local_root: Path, policy: object, folder: int, file: int) -> None:
    old = os.umask(0o077)  # a strict umask must not weaken the policy
    try:
        store = (
            ps.open_store(local_root, permissions=policy) if policy else ps.open_store(local_root)
        )
        ctx = store.create_execution("perm")
        store.save_results(ctx, {"a": 1})
        nb = store.create_attempt_notebook(ctx, "x")
    finally:
        os.umask(old)
    for d in (ctx.folder_path, ctx.attempts_folder, ctx.folder_path.parent, local_root):
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
    with pytest.raises((ValueError, TypeError)):
        ps.open_store(local_root, permissions=bad)
    assert not local_root.exists()


def test_permissions_only_apply_to_local_stores(memory_url: str) -> None:
    with pytest.raises(ps.ConfigError, match="local stores only"):
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

    def disk_full(*args: object) -> None:
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
    from pyexec_store.backends import local

    store = ps.open_store(local_root)
    ctx = store.create_execution("ro")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(local, "_create_temp", denied)
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
    # A path relative to the store root works too.
    inside = ctx.folder_path.relative_to(tmp_path / "_agent_data")
    assert store.url(inside / "results.json") == written.as_uri()
