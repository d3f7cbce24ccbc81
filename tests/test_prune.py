"""Pruning old executions: whole, finished when cut off, never running ones, in pages."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from archivetools import folder, record
from click.testing import CliRunner
from conftest import BUCKET, s3_options

import pyexec_store as ps
from pyexec_store import layout, liveness
from pyexec_store.backends import WriteItem
from pyexec_store.cli.app import cli
from pyexec_store.prune import prune
from pyexec_store.writing import dumps


def record_old(
    store: ps.ArtifactStore, days: float, *, status: str = "success", files: int = 3
) -> str:
    """An execution started ``days`` ago (its folder name and metadata say so)."""
    then = layout.local_now() - timedelta(days=days)
    ex = layout.new_execution(f"old_{status}", now=then)
    meta = {
        "execution_id": ex.execution_id,
        "name": f"old_{status}",
        "created_at": then.isoformat(),
        "status": status,
        "writer": liveness.writer(),  # this process: a running one stays running
    }
    items = [WriteItem(f"{ex.folder}/{layout.METADATA_FILE}", dumps(meta))]
    items += [
        WriteItem(f"{ex.folder}/figures/figure_{i:02d}.png", b"x" * 100) for i in range(files)
    ]
    assert store.backend.write_many(items) == [None] * len(items)
    return ex.folder


def test_prune_deletes_old_executions_whole_and_never_a_running_one(local_root: Path) -> None:
    store = ps.open_store(local_root)
    old = [record_old(store, 40), record_old(store, 35, status="failed")]
    running = record_old(store, 50, status="running")
    recent = record(store, "recent")
    report = prune(store, "30d")
    assert {e.folder for e in report.removed} == set(old)
    assert (report.files, report.bytes) == (8, sum(e.bytes for e in report.removed))
    assert report.bytes > 600
    left = {store.key(r.path) for r in store.list_executions()}
    assert left == {running, folder(store, recent)}
    assert not any((local_root / f).exists() for f in old)


def test_filters_dry_run_and_bad_arguments(local_root: Path) -> None:
    store = ps.open_store(local_root)
    ok, bad = record_old(store, 10), record_old(store, 10, status="failed")
    dry = prune(store, "1w", status="failed", dry_run=True)
    assert [e.folder for e in dry.removed] == [bad] and dry.removed[0].files == 4
    assert len(store.list_executions()) == 2  # nothing deleted
    assert [e.folder for e in prune(store, "0s", name="old_succ*").removed] == [ok]
    with pytest.raises(ps.ConfigError, match="never pruned"):
        prune(store, "1d", status="running")
    with pytest.raises(ps.ConfigError):
        prune(store, "ages ago")


def test_more_than_1000_objects_are_listed_and_deleted_in_pages(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    key = record_old(store, 60, files=1100)
    s3.take_requests()
    report = prune(store, "30d")
    requests = s3.take_requests()
    assert report.files == 1101 and report.removed[0].deleted
    listings = [r for r in requests if "list-type=2" in r.query and "delimiter" not in r.query]
    assert len(listings) == 2 and "continuation-token" in listings[1].query
    deletes = [r for r in requests if r.method == "POST" and "delete" in r.query]
    assert len(deletes) == 3  # 1000 + 100 files, then the metadata
    c = boto3.client("s3", endpoint_url=s3.endpoint_url)
    assert c.list_objects_v2(Bucket=BUCKET, Prefix=f"runs/{key}").get("KeyCount") == 0


def test_an_interrupted_prune_shows_deleting_and_the_next_one_finishes(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    key = record_old(store, 60)
    s3.inject_faults(10, 500, "InternalError", match="delete")  # more than botocore retries
    report = prune(store, "30d")
    s3.inject_faults(0)
    (failed,) = report.failed
    assert failed.folder == key and "injected" in (failed.error or "")
    (row,) = store.list_executions()
    assert row.status == "deleting"
    again = prune(store, "30d")
    assert [e.folder for e in again.removed] == [key] and store.list_executions() == []


def test_keys_the_server_says_it_did_not_delete_are_a_failure_not_a_success(s3: Any) -> None:
    # DeleteObjects answers 200 and lists, inside, the keys it could not delete.
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    key = record_old(store, 60)
    refused = (
        b"<DeleteResult><Error><Key>runs/x.png</Key><Code>AccessDenied</Code>"
        b"<Message>Access Denied</Message></Error></DeleteResult>"
    )
    s3.inject_faults(1, 200, "OK", match="delete", body=refused)
    (failed,) = prune(store, "30d").failed
    assert "AccessDenied" in (failed.error or "") and "runs/x.png" in (failed.error or "")
    assert store.list_executions()[0].status == "deleting"
    assert [e.folder for e in prune(store, "30d").removed] == [key]


def test_pruning_an_archive_removes_the_manifest_first(s3: Any, local_root: Path) -> None:
    src = ps.open_store(local_root)
    ctx = record(src, "archived")
    key = folder(src, ctx)
    dst = ps.open_store(f"s3://{BUCKET}/archive", **s3_options(s3))
    ps.archive(src, dst)
    s3.take_requests()
    assert len(prune(dst, "0s").removed) == 1
    requests = [r for r in s3.take_requests() if r.method in ("PUT", "POST")]
    # The manifest goes, then the mark "deleting", then the files, then the metadata.
    assert [(r.method, r.query) for r in requests] == [
        ("POST", "delete"),
        ("PUT", ""),
        ("POST", "delete"),
        ("POST", "delete"),
    ]
    assert dst.backend.find(key) == []
    assert ps.archive(src, dst).archived == 1  # its source still there: archived again


def test_a_cut_off_prune_of_an_archive_leaves_it_not_archived(
    memory_url: str, local_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = ps.open_store(local_root), ps.open_store(memory_url)
    ctx = record(src, "cut")
    key = folder(src, ctx)
    ps.archive(src, dst)
    calls: list[int] = []
    original = type(dst.backend).delete

    def delete_then_fail(self: Any, keys: Any) -> None:
        calls.append(len(keys))
        if len(calls) == 2:  # after the manifest went: the files
            raise ps.StorageError("delete", keys[0], None, "cut off")
        original(self, keys)

    monkeypatch.setattr(type(dst.backend), "delete", delete_then_fail)
    assert len(prune(dst, "0s").failed) == 1
    monkeypatch.undo()
    assert "archive_manifest.json" not in dst.backend.find(key)
    assert dst.list_executions()[0].status == "deleting"
    report = ps.archive(src, dst)  # not archived any more: archived again, whole
    assert report.executions[0].action == "archived"


def invoke(*args: str, **kwargs: Any) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


def test_the_command_needs_yes_off_a_terminal_and_reports_what_it_removed(
    local_root: Path,
) -> None:
    store = ps.open_store(local_root)
    key = record_old(store, 40)
    refused = invoke("prune", str(local_root), "--older-than", "30d")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert key in refused.stdout and len(store.list_executions()) == 1
    done = invoke("prune", str(local_root), "--older-than", "30d", "--yes", "--json")
    assert done.exit_code == 0
    report = json.loads(done.stdout)
    (removed,) = report["executions"]
    assert (report["removed"], report["files"]) == (1, 4) and removed["deleted"]
    assert report["bytes"] == removed["bytes"] > 300
    assert store.list_executions() == []
    bad = invoke("prune", str(local_root), "--older-than", "30d", "--status", "running")
    assert bad.exit_code == 2


def test_the_command_asks_on_a_terminal(local_root: Path) -> None:
    store = ps.open_store(local_root)
    record_old(store, 40)
    for answer, left in ((b"n\n", 1), (b"y\n", 0)):
        leader, follower = pty.openpty()
        command = [sys.executable, "-m", "pyexec_store", "prune", str(local_root)]
        proc = subprocess.Popen(
            [*command, "--older-than", "30d"],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        os.close(follower)
        time.sleep(1.5)  # the question is asked on the terminal, then answered
        os.write(leader, answer)
        _, err = proc.communicate(timeout=30)
        os.close(leader)
        assert b"Delete 1 executions (4 files" in err, err
        assert len(store.list_executions()) == left
        assert proc.returncode == (1 if left else 0)
