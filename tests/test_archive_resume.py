"""Archives killed mid-way (SIGKILL) and run again; large files as streamed multipart uploads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from archivetools import assert_archived, folder, record, tree
from conftest import BUCKET, S3_KEY, S3_SECRET, s3_options

import pyexec_store as ps
from pyexec_store.backends.s3_transfer import PART_SIZE, PARTS_IN_FLIGHT

MB = 1_000_000


def archive_process(src: Path, s3: Any, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "pyexec_store", "archive", str(src)]
    command += [f"s3://{BUCKET}/archive", "-o", f"endpoint_url={s3.endpoint_url}", *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_when(proc: subprocess.Popen[str], ready: Any, timeout: float = 60) -> None:
    """SIGKILL ``proc`` as soon as ``ready()``; fail if it finished first."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"it finished before it could be killed: {proc.stderr}"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.kill()
    proc.wait(10)
    assert proc.returncode == -9


def all_keys(s3: Any) -> list[str]:
    c = boto3.client("s3", endpoint_url=s3.endpoint_url)
    pages = c.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="archive/")
    return [o["Key"][len("archive/") :] for p in pages for o in p.get("Contents", [])]


def open_uploads(s3: Any) -> list[Any]:
    c = boto3.client("s3", endpoint_url=s3.endpoint_url)
    return list(c.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))


def test_killed_mid_archive_then_resumed_every_file_exact_once(s3: Any, local_root: Path) -> None:
    src = ps.open_store(local_root)
    contexts = [record(src, f"run{i:02d}") for i in range(30)]
    keys = [folder(src, c) for c in contexts]
    expected = {k: tree(src, k) for k in keys}
    s3.take_requests()
    proc = archive_process(local_root, s3, "--concurrency", "4", "--quiet")
    kill_when(proc, lambda: sum(r.method == "PUT" for r in list(s3.requests)) >= 60)
    dst = ps.open_store(f"s3://{BUCKET}/archive", **s3_options(s3))
    manifests_before = sum(f"{k}/archive_manifest.json" in set(all_keys(s3)) for k in keys)
    assert manifests_before < len(keys)  # killed mid-way

    report = ps.archive(src, dst)

    assert report.ok and report.archived + report.skipped == len(keys)
    for key in keys:
        assert_archived(src, dst, key)
    # Nothing else in the archive: each source file once, and one manifest per execution.
    wanted = {f"{k}/{n}" for k in keys for n in [*expected[k], "archive_manifest.json"]}
    assert sorted(all_keys(s3)) == sorted(wanted)
    assert open_uploads(s3) == []
    # What the killed run finished whole was checked and kept, not sent again.
    total = sum(len(files) for files in expected.values())
    assert sum(len(e.copied) for e in report.executions) < total - 40


def test_ctrl_c_finishes_the_executions_in_flight_and_exits_130(s3: Any, local_root: Path) -> None:
    src = ps.open_store(local_root)
    keys = [folder(src, record(src, f"int{i:02d}")) for i in range(30)]
    s3.take_requests()
    proc = archive_process(local_root, s3, "--concurrency", "2", "--quiet")
    deadline = time.monotonic() + 60
    while not any(r.method == "PUT" for r in list(s3.requests)):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopping once the executions in flight are archived" in err
    dst = ps.open_store(f"s3://{BUCKET}/archive", **s3_options(s3))
    done = [k for k in keys if "archive_manifest.json" in dst.backend.find(k)]
    assert 0 < len(done) < len(keys)  # those begun were finished, no new one started
    for key in done:
        assert_archived(src, dst, key)
    assert [k for k in keys if dst.backend.find(k) and k not in done] == []  # none half-done


def test_killed_mid_multipart_upload_then_resumed_leaves_no_parts(
    s3: Any, local_root: Path
) -> None:
    src = ps.open_store(local_root)
    ctx = record(src, "large")
    key = folder(src, ctx)
    src.backend.write(f"{key}/data/large.bin", os.urandom(2 * PART_SIZE + 1234))
    s3.take_requests()
    proc = archive_process(local_root, s3, "--quiet")
    kill_when(proc, lambda: any("partNumber=2" in r.query for r in list(s3.requests)))
    assert len(open_uploads(s3)) == 1  # what a killed writer leaves: parts of an open upload
    dst = ps.open_store(f"s3://{BUCKET}/archive", **s3_options(s3))

    report = ps.archive(src, dst)

    assert report.archived == 1
    assert_archived(src, dst, key)
    assert open_uploads(s3) == []
    requests = s3.take_requests()
    aborts = [r for r in requests if r.method == "DELETE" and "uploadId" in r.query]
    assert len(aborts) == 1  # the killed run's upload, aborted before a new one began


def test_a_large_file_goes_in_parts_each_retried(s3: Any, local_root: Path) -> None:
    src = ps.open_store(local_root)
    ctx = record(src, "retry")
    key = folder(src, ctx)
    src.backend.write(f"{key}/data/large.bin", os.urandom(2 * PART_SIZE + 99))
    dst = ps.open_store(f"s3://{BUCKET}/archive", **s3_options(s3))
    s3.take_requests()
    # Seven lost parts: at least one part fails all three of botocore's tries and is
    # sent again by the upload's own retry.
    s3.inject_faults(7, 500, "InternalError", match="partNumber")
    report = ps.archive(src, dst)
    assert report.ok, report.failed
    parts = [r for r in s3.take_requests() if "partNumber" in r.query]
    assert len(parts) == 3 + 7
    assert_archived(src, dst, key)


def test_a_failed_multipart_upload_is_aborted_and_reported(s3: Any, local_root: Path) -> None:
    src = ps.open_store(local_root)
    ctx = record(src, "broken")
    key = folder(src, ctx)
    src.backend.write(f"{key}/data/large.bin", os.urandom(2 * PART_SIZE + 5))
    once = {"retries": {"max_attempts": 1, "mode": "standard"}}  # the upload's own tries only
    dst = ps.open_store(f"s3://{BUCKET}/archive", config_kwargs=once, **s3_options(s3))
    s3.inject_faults(1000, 500, "InternalError", match="partNumber")
    report = ps.archive(src, dst)
    s3.inject_faults(0)
    (failed,) = report.failed
    assert "data/large.bin" in failed.reason
    assert open_uploads(s3) == []
    assert "archive_manifest.json" not in dst.backend.find(key)  # not archived
    assert ps.archive(src, dst).archived == 1


@pytest.mark.parametrize("size_mb", [60, 120])
def test_streaming_a_large_file_holds_a_few_parts_not_the_file(
    s3: Any, tmp_path: Path, size_mb: int
) -> None:
    """Traced memory of the archive, in a process of its own, with 5 MiB parts."""
    src = ps.open_store(tmp_path / "src")
    ctx = record(src, "memory")
    key = folder(src, ctx)
    with open(Path(ctx.folder_path) / "large.bin", "wb") as f:
        for _ in range(size_mb):
            f.write(os.urandom(MB))
    script = textwrap.dedent(
        f"""
        import tracemalloc
        import pyexec_store as ps
        from pyexec_store.backends import s3_transfer

        s3_transfer.PART_SIZE = 5 * 2**20
        s3_transfer.MULTIPART_THRESHOLD = 10 * 2**20
        dst = ps.open_store("s3://{BUCKET}/archive", endpoint_url={s3.endpoint_url!r},
                            key={S3_KEY!r}, secret={S3_SECRET!r})
        dst.list_executions()  # botocore's models are loaded before memory is traced
        tracemalloc.start()
        report = ps.archive({str(tmp_path / "src")!r}, dst)
        assert report.ok, report.failed
        print(tracemalloc.get_traced_memory()[1])
        """
    )
    command = [sys.executable, "-c", script]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    peak = int(done.stdout.split()[-1])
    # The parts in flight and the one being read: a few parts, whatever the file's size.
    part = 5 * 2**20
    assert peak < (PARTS_IN_FLIGHT + 2) * part, f"peak {peak / MB:.0f} MB, {size_mb} MB file"
    assert peak < size_mb * MB / 2
    dst = ps.open_store(f"s3://{BUCKET}/archive", **s3_options(s3))
    assert_archived(src, dst, key)
