"""Archiving to SeaweedFS, a real object store that checks signatures and SHA-256 checksums.

Requests are counted where botocore sends them (its ``before-send`` event).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from archivetools import assert_archived, folder, record, tree
from conftest import weed_client_options, weed_options
from fsspec.asyn import sync
from seaweed import SeaweedServer

import pyexec_store as ps
from pyexec_store.backends.s3_transfer import PART_SIZE


def weed_store(weed: SeaweedServer, bucket: str) -> ps.ArtifactStore:
    return ps.open_store(f"s3://{bucket}/archive", **weed_options(weed))


def sent_requests(store: ps.ArtifactStore) -> list[tuple[str, str]]:
    """A list that fills with (method, URL) of every request the store's client sends."""
    fs = store.backend.fs
    sync(fs.loop, fs.set_session)
    log: list[tuple[str, str]] = []

    def record_send(request: Any, **kwargs: Any) -> None:
        log.append((request.method, request.url))

    fs.s3.meta.events.register("before-send.s3", record_send)
    return log


def keys(weed: SeaweedServer, bucket: str) -> list[str]:
    c = boto3.client("s3", region_name="us-east-1", **weed_client_options(weed))
    pages = c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="archive/")
    return [o["Key"] for p in pages for o in p.get("Contents", [])]


def test_archived_exactly_and_verified_by_the_servers_checksums(
    weed: SeaweedServer, weed_bucket: str, local_root: Path
) -> None:
    src, dst = ps.open_store(local_root), weed_store(weed, weed_bucket)
    contexts = [record(src, f"w{i}") for i in range(3)]
    src.backend.write(f"{folder(src, contexts[0])}/data/large.bin", os.urandom(2 * PART_SIZE + 7))
    log = sent_requests(dst)

    report = ps.archive(src, dst)

    assert report.archived == 3 and report.ok
    files = sum(len(e.copied) for e in report.executions)
    # SeaweedFS refuses a body whose SHA-256 is not the one sent with it, so the
    # checksum it keeps is proof: one HEAD per file (the multipart one too), none read back.
    assert all(set(e.verified_by) == {"server checksum"} for e in report.executions)
    assert sum(n for e in report.executions for n in e.verified_by.values()) == files
    assert len([r for r in log if r[0] == "HEAD"]) == files
    gets = [url for method, url in log if method == "GET"]
    assert all(
        url.endswith("/archive_manifest.json") or "list-type=2" in url or "uploads" in url
        for url in gets
    ), gets
    for ctx in contexts:
        assert_archived(src, dst, folder(src, ctx))

    log.clear()
    second = ps.archive(src, dst)
    assert second.archived == 0
    assert [method for method, _ in log] == ["GET"] * 3


def test_a_corrupted_object_is_found_and_repaired(
    weed: SeaweedServer, weed_bucket: str, local_root: Path
) -> None:
    src, dst = ps.open_store(local_root), weed_store(weed, weed_bucket)
    ctx = record(src, "corrupt")
    key = folder(src, ctx)
    ps.archive(src, dst)
    c = boto3.client("s3", region_name="us-east-1", **weed_client_options(weed))
    good = dst.backend.read(f"{key}/notebook.ipynb")
    c.put_object(Bucket=weed_bucket, Key=f"archive/{key}/notebook.ipynb", Body=good[:-1] + b"!")
    report = ps.archive(src, dst, verify=True)
    (outcome,) = report.executions
    assert outcome.action == "repaired"
    assert outcome.problems == ["notebook.ipynb: SHA-256 differs"]
    assert_archived(src, dst, key)


def test_killed_mid_archive_then_resumed(
    weed: SeaweedServer, weed_bucket: str, local_root: Path
) -> None:
    src = ps.open_store(local_root)
    contexts = [record(src, f"k{i:02d}") for i in range(20)]
    command = [sys.executable, "-m", "pyexec_store", "archive", str(local_root)]
    command += [f"s3://{weed_bucket}/archive", "--quiet", "--concurrency", "4"]
    command += [f"--dst-option={k}={v}" for k, v in weed_options(weed).items()]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(keys(weed, weed_bucket)) < 30:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.kill()
    proc.wait(10)
    dst = weed_store(weed, weed_bucket)
    report = ps.archive(src, dst)
    assert report.ok
    wanted = set()
    for ctx in contexts:
        key = folder(src, ctx)
        assert_archived(src, dst, key)
        wanted |= {f"archive/{key}/{n}" for n in [*tree(src, key), "archive_manifest.json"]}
    assert sorted(keys(weed, weed_bucket)) == sorted(wanted)


def test_restored_from_seaweedfs_to_local_disk(
    weed: SeaweedServer, weed_bucket: str, local_root: Path, tmp_path: Path
) -> None:
    src, archive_store = ps.open_store(local_root), weed_store(weed, weed_bucket)
    ctx = record(src, "restore")
    ps.archive(src, archive_store)
    restored = ps.open_store(tmp_path / "restored")
    assert ps.archive(archive_store, restored).archived == 1
    assert tree(restored, folder(src, ctx)) == tree(src, folder(src, ctx))
