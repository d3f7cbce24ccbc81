"""S3 bodies: reads bounded as a whole, large writes streamed without copies."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import BUCKET, S3_KEY, S3_SECRET, s3_options
from slowserver import trickle_server

import pyexec_store as ps
from pyexec_store.backends.s3_transfer import MULTIPART_THRESHOLD, PART_SIZE

MB = 1_000_000


def test_a_trickled_body_cannot_outlast_the_deadline() -> None:
    # Headers at once, then one byte a second: each read is quick, the body takes 30 s.
    with trickle_server(body_size=30, interval=1.0) as url:
        store = ps.open_store(
            f"s3://{BUCKET}/runs", endpoint_url=url, key=S3_KEY, secret=S3_SECRET, deadline=3
        )
        started = time.monotonic()
        with pytest.raises(ps.StorageError) as info:
            store.backend.read("executed_scripts/context.json")
        took = time.monotonic() - started
    assert took < 15, f"the read went on for {took:.0f} s"
    assert info.value.errno == errno.ETIMEDOUT
    assert "no answer within 3 s" in str(info.value) and url in str(info.value)


def test_a_large_object_goes_as_a_multipart_upload_of_views(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    data = os.urandom(2 * PART_SIZE + 12345)
    store.backend.write("big/results.json", data, content_type="application/json")
    requests = s3.take_requests()
    assert [(r.method, r.query.split("=", 1)[0]) for r in requests] == [
        ("POST", "uploads"),  # CreateMultipartUpload
        ("PUT", "partNumber"),  # UploadPart x 3
        ("PUT", "partNumber"),
        ("PUT", "partNumber"),
        ("POST", "uploadId"),  # CompleteMultipartUpload
    ]
    assert requests[0].headers["content-type"] == "application/json"
    assert store.backend.read("big/results.json") == data


def test_a_small_object_is_one_put(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    data = os.urandom(MULTIPART_THRESHOLD - 1)
    store.backend.write("small.bin", data)
    assert [r.method for r in s3.take_requests()] == ["PUT"]
    assert store.backend.read("small.bin") == data


def test_a_large_claim_is_exclusive(s3: Any) -> None:
    import boto3

    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    data = os.urandom(MULTIPART_THRESHOLD)
    store.backend.write("claim.bin", data, exclusive=True)
    with pytest.raises(ps.StorageExistsError):
        store.backend.write("claim.bin", b"other" + data, exclusive=True)
    complete = [r for r in s3.take_requests() if r.method == "POST" and "uploadId" in r.query]
    assert all(r.headers.get("if-none-match") == "*" for r in complete) and len(complete) == 2
    assert store.backend.read("claim.bin") == data
    client = boto3.client("s3", endpoint_url=s3.endpoint_url)
    assert client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_a_failed_multipart_upload_is_aborted(s3: Any) -> None:
    import boto3

    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    s3.inject_faults(1000, 500, "InternalError", match="partNumber")
    with pytest.raises(ps.StorageError, match="injected"):
        store.backend.write("broken.bin", os.urandom(MULTIPART_THRESHOLD))
    s3.inject_faults(0)
    requests = s3.take_requests()
    assert requests[-1].method == "DELETE" and "uploadId" in requests[-1].query
    client = boto3.client("s3", endpoint_url=s3.endpoint_url)
    assert client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    with pytest.raises(ps.StorageNotFoundError):
        store.backend.read("broken.bin")


def test_writing_a_large_document_costs_little_beyond_it(s3: Any, tmp_path: Path) -> None:
    """Traced memory of the write, in a process of its own (moto runs in this one)."""
    size = 60 * MB
    script = textwrap.dedent(
        f"""
        import sys, tracemalloc
        import pyexec_store as ps

        store = ps.open_store("s3://{BUCKET}/runs", endpoint_url={s3.endpoint_url!r},
                              key={S3_KEY!r}, secret={S3_SECRET!r}, url_strategy="file")
        ctx = store.create_execution("large")
        tracemalloc.start()
        document = b"x" * {size}  # the encoded results, as save_results hands them over
        store.backend.write(store.key(ctx.folder_path) + "/results.json", document)
        print(tracemalloc.get_traced_memory()[1])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    peak = int(done.stdout.split()[-1])
    assert peak < 1.5 * size, f"peak {peak / MB:.0f} MB for a {size / MB:.0f} MB document"
    requests = s3.take_requests()
    assert sum("partNumber" in r.query for r in requests) == -(-size // PART_SIZE)
