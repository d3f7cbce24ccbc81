"""Against a real object store that checks signatures: SeaweedFS on 127.0.0.1.

moto's server accepts any credentials and any presigned signature, so links
fetched from it prove nothing about signing; these tests run where a wrong
signature, an expired link or a wrong secret is refused.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from seaweed import KEY, SECRET, SeaweedServer

import pyexec_store as ps


@pytest.fixture
def bucket(weed_bucket: str) -> str:
    """A new bucket on the session's SeaweedFS (the ``weed`` fixture, in conftest.py)."""
    return weed_bucket


def open_weed(weed: SeaweedServer, bucket: str, **options: Any) -> ps.ArtifactStore:
    options.setdefault("secret", SECRET)
    return ps.open_store(f"s3://{bucket}/runs", endpoint_url=weed.endpoint_url, key=KEY, **options)


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_a_presigned_link_opens_and_a_tampered_one_is_refused(
    weed: SeaweedServer, bucket: str
) -> None:
    store = open_weed(weed, bucket)
    ctx = store.create_execution("signed")
    path = store.save_results(ctx, {"answer": 42})
    link = store.url(path)
    assert fetch(link) == (200, b'{\n  "answer": 42\n}\n')
    tampered = link.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert fetch(tampered)[0] == 403
    other_key = link.replace("results.json", "context.json")  # the signature covers the path
    assert fetch(other_key)[0] == 403


def test_an_expired_link_is_refused(weed: SeaweedServer, bucket: str) -> None:
    store = open_weed(weed, bucket)
    ctx = store.create_execution("expiring")
    link = store.url(store.save_results(ctx, {"a": 1}), expires=1)
    assert "X-Amz-Expires=1&" in link
    time.sleep(2.5)
    assert fetch(link)[0] == 403


def test_links_signed_for_a_public_endpoint(weed: SeaweedServer, bucket: str) -> None:
    # The browser reaches the store through another name (a proxy, a Docker port map):
    # the link is signed for that host, and the store's own I/O keeps its endpoint.
    public = weed.endpoint_url.replace("127.0.0.1", "localhost")
    store = open_weed(weed, bucket, public_endpoint_url=public)
    ctx = store.create_execution("public")
    link = store.url(store.save_results(ctx, {"via": "public"}))
    assert link.startswith(public + "/")
    assert fetch(link)[0] == 200
    assert fetch(link.replace("localhost", "127.0.0.1", 1))[0] == 403  # signed for the host


def test_a_wrong_secret_is_a_permission_error(weed: SeaweedServer, bucket: str) -> None:
    store = open_weed(weed, bucket, secret="not-the-secret")
    with pytest.raises(ps.StoragePermissionError) as info:
        store.create_execution("denied")
    assert "not-the-secret" not in f"{info.value} {info.value!r}"
    with pytest.raises(ps.StoragePermissionError):
        store.list_executions()


def test_the_whole_lifecycle_on_a_real_object_store(weed: SeaweedServer, bucket: str) -> None:
    store = open_weed(weed, bucket)
    ctx = store.create_execution("life")
    store.save_context(ctx, {"k": "v"})
    store.create_attempt_notebook(ctx, "x = 1")
    store.save_figure(ctx, b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    store.create_final_notebook(ctx, "x = 1", results={"x": 1})
    store.finish_execution(ctx)
    (row,) = store.list_executions()
    assert (row.status, row.attempts, row.figures) == ("success", 1, 1)
    again = store.open_execution(row.execution_id)
    assert store.load_context(again) == {"k": "v"}


def test_claims_stay_exclusive(weed: SeaweedServer, bucket: str) -> None:
    store = open_weed(weed, bucket)
    ctx = store.create_execution("claim")
    key = store.key(ctx.folder_path) + "/execution_metadata.json"
    before = store.backend.read(key)
    with pytest.raises(ps.StorageExistsError):
        store.backend.write(key, b"{}", exclusive=True)
    assert store.backend.read(key) == before
