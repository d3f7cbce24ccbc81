"""Durable finishes: a finished execution survives a power loss (fsync, counted)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import pytest

import pyexec_store as ps

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 16


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What os.fsync was called on: 'file' or 'folder', in order."""
    calls: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        calls.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return calls


def record(store: ps.ArtifactStore) -> ps.PythonExecutionContext:
    ctx = store.create_execution("d")
    store.save_context(ctx, {"a": 1})
    store.create_attempt_notebook(ctx, "x")
    store.save_results(ctx, {"r": 1})
    store.save_figure(ctx, PNG)
    store.create_final_notebook(ctx, "x")
    return ctx


def test_by_default_the_whole_execution_is_synced_once_at_the_finish(
    local_root: Path, synced: list[str]
) -> None:
    store = ps.open_store(local_root)
    ctx = record(store)
    assert synced == []  # no write waited for the disk
    store.finish_execution(ctx)
    files = [p for p in ctx.folder_path.rglob("*") if p.is_file()]
    folders = [p for p in ctx.folder_path.rglob("*") if p.is_dir()]
    assert synced.count("file") == len(files) == 6
    # The execution's folders, and every folder above it up to the root.
    assert synced.count("folder") == len(folders) + 1 + 3


def test_durable_true_syncs_every_write(local_root: Path, synced: list[str]) -> None:
    store = ps.open_store(local_root, durable=True)
    ctx = store.create_execution("every")
    assert synced == ["file", "folder"]  # the claim: the file, then its folder
    store.save_results(ctx, {"a": 1})
    assert synced[2:] == ["file", "folder"]


def test_a_durable_claim_without_hard_links_is_synced(
    local_root: Path, synced: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ps.open_store(local_root, durable=True).backend
    backend.makedirs("a")

    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")  # as on FAT or some SMB mounts

    monkeypatch.setattr(os, "link", no_links)
    backend.write("a/claim.json", b"first", exclusive=True)
    # The temporary file, then the claim written in its place, then their folder.
    assert synced == ["file", "file", "folder"]
    assert backend.read("a/claim.json") == b"first"


def test_durable_false_never_syncs(local_root: Path, synced: list[str]) -> None:
    store = ps.open_store(local_root, durable=False)
    store.finish_execution(record(store))
    assert synced == []


@pytest.mark.parametrize("value", ["yes", 1])
def test_a_bad_durable_value_is_refused(local_root: Path, value: Any) -> None:
    with pytest.raises(TypeError, match="durable"):
        ps.open_store(local_root, durable=value)


def test_durable_from_the_environment(
    local_root: Path, synced: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYEXEC_STORE_DURABLE", "false")
    store = ps.open_store(local_root)
    store.finish_execution(record(store))
    assert synced == []
    ps.open_store("memory://durable-env")  # a store that takes no such option ignores it
