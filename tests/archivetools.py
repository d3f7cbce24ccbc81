"""Helpers of the archive, prune and doctor tests: executions to archive, trees to compare."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pyexec_store as ps

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def record(
    store: ps.ArtifactStore, name: str = "analysis", *, finish: bool = True, success: bool = True
) -> ps.PythonExecutionContext:
    """One execution as an executor leaves it: context, attempts, results, figures, notebook."""
    ctx = store.create_execution(name)
    store.save_context(ctx, {"task": name, "values": list(range(20))})
    store.create_attempt_notebook(ctx, "x = 1", stage="pre_execution")
    store.create_attempt_notebook(ctx, "x = 2", stage="execution")
    store.save_results(ctx, {"x": 2, "name": name})
    figures = store.save_figures(ctx, [PNG, PNG[:8] + PNG[8:][::-1]])
    store.create_final_notebook(ctx, "x = 2", results={"x": 2}, figure_paths=figures)
    if finish:
        store.finish_execution(ctx, success=success, error=None if success else "boom")
    return ctx


def record_legacy(store: ps.ArtifactStore) -> str:
    """An execution folder as the original module wrote it: no metadata, status unknown."""
    folder = "executed_scripts/2026-10/execution_20261001_120000_legacy_run_0a1b2c3d"
    store.backend.write(f"{folder}/context.json", b'{"old": true}')
    store.backend.write(f"{folder}/results.json", b'{"r": 1}')
    store.backend.write(f"{folder}/attempts/01_execution_120000.ipynb", b'{"cells": []}')
    return folder


def folder(store: ps.ArtifactStore, ctx: ps.PythonExecutionContext) -> str:
    return store.key(ctx.folder_path)


def tree(store: ps.ArtifactStore, key: str, *, manifest: bool = False) -> dict[str, bytes]:
    """Every file of an execution folder, with its bytes (without the manifest, by default)."""
    names = [n for n in store.backend.find(key) if manifest or n != "archive_manifest.json"]
    data = store.backend.read_many([f"{key}/{n}" for n in names])
    out = {}
    for n in names:
        value = data[f"{key}/{n}"]
        assert isinstance(value, bytes), value
        out[n] = value
    return out


def manifest_of(store: ps.ArtifactStore, key: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(store.backend.read(f"{key}/archive_manifest.json"))
    return loaded


def assert_archived(src: ps.ArtifactStore, dst: ps.ArtifactStore, key: str) -> None:
    """The archived execution is the source's, byte for byte, and its manifest says so."""
    files = tree(src, key)
    assert tree(dst, key) == files
    manifest = manifest_of(dst, key)
    assert {f["path"]: (f["size"], f["sha256"]) for f in manifest["files"]} == {
        name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in files.items()
    }
