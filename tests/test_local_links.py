"""Symlinks planted in a local store are never followed: not by reads, listings or deletes.

The attack: with the ``container`` policy another local user may create files
in an execution folder. A symlink from there to a file only the executor can
read must neither come back to the caller nor be copied into the store.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from localusers import as_nobody, needs_root, shared_folder

import pyexec_store as ps

SECRET = b'{"secret": "root only"}'
ATTEMPT = "attempts/01_execution_120000.ipynb"


@pytest.fixture
def shared() -> Iterator[Path]:
    with shared_folder() as path:
        yield path


@pytest.fixture
def victim(shared: Path) -> Path:
    """A file only root can read, outside the store."""
    path = shared / "secret.json"
    path.write_bytes(SECRET)
    path.chmod(0o600)
    return path


def plant(link: Path, target: Path) -> None:
    """``link`` -> ``target``, created by nobody."""
    as_nobody(os.symlink, str(target), str(link))


def assert_not_followed(exc: ps.StorageError, name: str) -> None:
    assert exc.errno == errno.ELOOP
    assert "symbolic link, not followed" in str(exc) and name in str(exc)
    assert "root only" not in str(exc)


def stored_bytes(root: Path) -> list[bytes]:
    """The content of every regular file in the store (links not followed)."""
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                found.append(path.read_bytes())
    return found


@needs_root
def test_load_context_does_not_follow_a_planted_link(shared: Path, victim: Path) -> None:
    store = ps.open_store(shared / "store", permissions="container")
    ctx = store.create_execution("links")
    plant(ctx.folder_path / "context.json", victim)
    with pytest.raises(ps.StorageError) as info:
        store.load_context(ctx)
    assert_not_followed(info.value, "context.json")


@needs_root
def test_load_results_does_not_follow_a_planted_link(shared: Path, victim: Path) -> None:
    store = ps.open_store(shared / "store", permissions="container")
    ctx = store.create_execution("links")
    plant(ctx.folder_path / "results.json", victim)
    with pytest.raises(ps.StorageError) as info:
        store.load_results(ctx)
    assert_not_followed(info.value, "results.json")


@needs_root
def test_a_planted_attempt_link_is_neither_loaded_nor_listed(shared: Path, victim: Path) -> None:
    store = ps.open_store(shared / "store", permissions="container")
    ctx = store.create_execution("links")
    plant(ctx.folder_path / ATTEMPT, victim)
    with pytest.raises(ps.StorageError) as info:
        store.load_notebook(ctx.folder_path / ATTEMPT)
    assert_not_followed(info.value, "01_execution_120000.ipynb")
    opened = store.open_execution(ctx.folder_path)
    assert opened.notebook_attempts == [] and opened.get_next_attempt_number() == 1


@needs_root
def test_planted_metadata_link_is_not_opened_nor_copied_back(shared: Path, victim: Path) -> None:
    root = shared / "store"
    store = ps.open_store(root, permissions="container")
    ctx = store.create_execution("links")
    store.save_results(ctx, {"a": 1})
    meta = ctx.folder_path / "execution_metadata.json"
    meta.unlink()  # as a group member could under the group policy
    meta.symlink_to(victim)
    os.lchown(meta, 65534, 65534)
    opened = store.open_execution(ctx.folder_path)
    assert opened.metadata == {}  # opens as a folder without metadata: the link is not read
    with pytest.raises(ps.StorageError) as info:
        store.finish_execution(opened)  # which reads the metadata it has not got
    assert_not_followed(info.value, "execution_metadata.json")
    (row,) = store.list_executions()
    assert row.status == "unknown" and row.name == "links"  # from the folder name alone
    assert not any(b"root only" in data for data in stored_bytes(root))


def test_a_symlinked_execution_folder_is_not_listed_or_opened(
    local_root: Path, tmp_path: Path
) -> None:
    store = ps.open_store(local_root, permissions="container")
    real = store.create_execution("real")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "execution_metadata.json").write_bytes(b'{"name": "planted"}')
    (elsewhere / "results.json").write_bytes(SECRET)
    name = real.folder_path.name.replace("_real_", "_evil_")[:-8] + "deadbeef"
    planted = real.folder_path.parent / name
    planted.symlink_to(elsewhere, target_is_directory=True)
    assert [r.name for r in store.list_executions()] == ["real"]
    with pytest.raises(ps.StorageNotFoundError):
        store.open_execution("deadbeef")
    with pytest.raises(ps.StorageError) as info:
        store.open_execution(planted)
    assert_not_followed(info.value, name)
    with pytest.raises(ps.StorageError) as info:
        store.load_results(ps.PythonExecutionContext(folder_path=planted))
    assert_not_followed(info.value, name)


def test_listings_skip_links_and_special_files(local_root: Path, tmp_path: Path) -> None:
    store = ps.open_store(local_root)
    ctx = store.create_execution("skip")
    store.save_results(ctx, {"a": 1})
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "figure_01.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (ctx.folder_path / "figures").symlink_to(outside, target_is_directory=True)
    (ctx.folder_path / "context.json").symlink_to(outside / "figure_01.png")
    os.mkfifo(ctx.folder_path / "fifo")
    backend, key = store.backend, store.key(ctx.folder_path)
    expected = ["attempts", "execution_metadata.json", "results.json"]
    assert backend.listdir(key) == expected
    assert backend.find(key) == ["execution_metadata.json", "results.json"]
    opened = store.open_execution(ctx.folder_path)
    assert opened.figure_count == 0 and opened.context_file_path is None
    with pytest.raises(ps.StorageError, match="not a regular file"):
        backend.read(f"{key}/fifo")  # refused at once, never waiting for a writer


def test_deleting_an_execution_never_touches_a_link_target(
    local_root: Path, tmp_path: Path
) -> None:
    store = ps.open_store(local_root)
    ctx = store.create_execution("del")
    store.save_results(ctx, {"a": 1})
    store.create_attempt_notebook(ctx, "x")
    store.save_figure(ctx, b"\x89PNG\r\n\x1a\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    (ctx.folder_path / "attempts" / "link").symlink_to(outside, target_is_directory=True)
    store.delete_execution(ctx)
    assert (outside / "keep.txt").read_text() == "keep"
    # Every stored file is gone; the unlisted link stays, and so the folders holding it.
    assert sorted(p.name for p in ctx.folder_path.rglob("*")) == ["attempts", "link"]


def test_delete_removes_only_the_emptied_direct_parents(local_root: Path) -> None:
    backend = ps.open_store(local_root).backend
    backend.write("a/b/c/one.txt", b"1")
    backend.write("a/b/two.txt", b"2")
    backend.write("top.txt", b"3")
    backend.delete(["a/b/c/one.txt", "top.txt", "a/b/missing.txt"])
    assert sorted(str(p.relative_to(local_root)) for p in local_root.rglob("*")) == [
        "a",
        "a/b",
        "a/b/two.txt",
    ]
    backend.delete(["a/b/two.txt"])
    assert [p.name for p in local_root.iterdir()] == ["a"]  # a held no deleted key itself
    assert local_root.is_dir()


def test_a_deleted_execution_leaves_no_folder(local_root: Path) -> None:
    store = ps.open_store(local_root)
    ctx = store.create_execution("gone")  # no attempt: attempts/ stays empty
    store.save_figure(ctx, b"\x89PNG\r\n\x1a\n")
    store.delete_execution(ctx)
    assert not ctx.folder_path.exists() and ctx.folder_path.parent.is_dir()
    assert store.list_executions() == []
    with pytest.raises(ps.StorageNotFoundError):
        store.open_execution(ctx.folder_path)


def test_a_root_swapped_for_a_link_after_mkdir_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    target = tmp_path / "target"
    target.mkdir(mode=0o700)
    real_mkdir = os.mkdir

    def mkdir_then_swap(path: object, *args: object, **kwargs: object) -> None:
        real_mkdir(path, *args, **kwargs)  # type: ignore[arg-type]
        if os.fspath(path) in (str(root), root.name):  # type: ignore[call-overload]
            os.rename(root, tmp_path / "moved")  # another user of tmp_path swaps it
            root.symlink_to(target, target_is_directory=True)

    monkeypatch.setattr(os, "mkdir", mkdir_then_swap)
    with pytest.raises(ps.StorageError) as info:
        ps.open_store(root).create_execution("swap")
    assert_not_followed(info.value, "root")
    assert stat.S_IMODE(target.stat().st_mode) == 0o700 and list(target.iterdir()) == []


def test_modes_are_set_through_descriptors(
    local_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_chmod(*args: object, **kwargs: object) -> None:
        raise AssertionError("a mode set by path follows a symlink swapped in")

    monkeypatch.setattr(os, "chmod", no_chmod)
    store = ps.open_store(local_root, permissions="container")
    ctx = store.create_execution("fchmod")
    store.save_results(ctx, {})
    assert stat.S_IMODE(local_root.stat().st_mode) == 0o2775
    assert stat.S_IMODE(ctx.folder_path.stat().st_mode) == 0o3777
