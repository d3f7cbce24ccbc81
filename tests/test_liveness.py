"""Executions whose writer died are ``interrupted``, never ``running`` forever."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

import pyexec_store as ps


def rewrite_meta(store: ps.ArtifactStore, ctx: ps.PythonExecutionContext, **changes: Any) -> None:
    key = store.key(ctx.folder_path) + "/execution_metadata.json"
    meta = orjson.loads(store.backend.read(key))
    meta.update(changes)
    store.backend.write(key, orjson.dumps(meta))


def test_a_live_writer_on_this_host_is_running(local_root: Path) -> None:
    store = ps.open_store(local_root)
    store.create_execution("alive")
    assert [r.status for r in store.list_executions()] == ["running"]


def test_a_writer_that_died_leaves_an_interrupted_execution(local_root: Path) -> None:
    code = (
        "import pyexec_store as ps, sys; "
        "ps.open_store(sys.argv[1]).create_execution('died')"  # exits without finishing
    )
    subprocess.run([sys.executable, "-c", code, str(local_root)], check=True)
    store = ps.open_store(local_root)
    assert [r.status for r in store.list_executions()] == ["interrupted"]
    assert [r.name for r in store.list_executions(status="interrupted")] == ["died"]
    assert store.list_executions(status="running") == []


def test_a_reused_process_id_is_not_the_writer(memory_url: str) -> None:
    store = ps.open_store(memory_url)
    ctx = store.create_execution("reused")
    writer = dict(ctx.metadata["writer"], started=1)  # this pid, started at another time
    rewrite_meta(store, ctx, writer=writer)
    assert [r.status for r in store.list_executions()] == ["interrupted"]


def test_heartbeats_tell_from_another_host(memory_url: str) -> None:
    store = ps.open_store(memory_url)
    ctx = store.create_execution("remote")
    elsewhere = {"host": "another-host.invalid", "pid": 1, "started": 1, "boot": "x"}
    rewrite_meta(store, ctx, writer=elsewhere)
    assert [r.status for r in store.list_executions()] == ["running"]  # nothing tells
    fresh = datetime.now(timezone.utc).isoformat()
    rewrite_meta(store, ctx, heartbeat=fresh, heartbeat_interval=30)
    assert [r.status for r in store.list_executions()] == ["running"]
    old = (datetime.now(timezone.utc) - timedelta(seconds=91)).isoformat()
    rewrite_meta(store, ctx, heartbeat=old, heartbeat_interval=30)
    assert [r.status for r in store.list_executions()] == ["interrupted"]


def test_heartbeat_is_recorded(memory_url: str) -> None:
    store = ps.open_store(memory_url)
    ctx = store.create_execution("beat")
    store.heartbeat(ctx, interval=5)
    key = store.key(ctx.folder_path) + "/execution_metadata.json"
    meta = orjson.loads(store.backend.read(key))
    assert meta["heartbeat_interval"] == 5 and meta["status"] == "running"
    beat = datetime.fromisoformat(meta["heartbeat"])
    assert abs((datetime.now(timezone.utc) - beat).total_seconds()) < 60
    store.finish_execution(ctx, details={"exit_status": 0})
    meta = orjson.loads(store.backend.read(key))
    assert (meta["status"], meta["exit_status"], meta["figures"]) == ("success", 0, 0)
