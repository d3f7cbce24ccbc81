"""S3 specifics, against moto's S3 server over HTTP on 127.0.0.1."""

from __future__ import annotations

import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import BUCKET, S3_KEY, S3_SECRET, s3_options
from sigv4 import verify_presigned_get
from slowserver import silent_server

import pyexec_store as ps

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def record_one_execution(store: ps.ArtifactStore) -> ps.PythonExecutionContext:
    ctx = store.create_execution("budget")
    store.save_context(ctx, {"k": "v"})
    for i in range(3):
        store.create_attempt_notebook(ctx, f"x = {i}")
    store.save_results(ctx, {"x": 2})
    figures = store.save_figures(ctx, [PNG, PNG])
    store.create_final_notebook(ctx, "x = 2", results={"x": 2}, figure_paths=figures)
    store.finish_execution(ctx, success=True)
    return ctx


def test_request_budget_is_one_put_per_object(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    ctx = record_one_execution(store)
    requests = s3.take_requests()
    assert [r.method for r in requests] == ["PUT"] * 10
    prefix = f"/{BUCKET}/runs/"
    assert all(r.path.startswith(prefix) and not r.path.endswith("/") for r in requests)
    by_name = {r.path.rsplit("/", 1)[1]: r for r in requests}
    assert by_name["notebook.ipynb"].headers["content-type"] == "application/x-ipynb+json"
    assert by_name["figure_01.png"].headers["content-type"] == "image/png"
    assert by_name["results.json"].headers["content-type"] == "application/json"
    claim = next(r for r in requests if r.path.endswith("execution_metadata.json"))
    assert claim.headers.get("if-none-match") == "*"
    assert ctx.get_next_attempt_number() == 4


def test_claim_conflict_is_reported_by_the_server(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    ctx = store.create_execution("c")
    s3.take_requests()
    with pytest.raises(ps.StorageExistsError):
        store.backend.write(
            store.key(ctx.folder_path) + "/execution_metadata.json", b"{}", exclusive=True
        )
    (request,) = s3.take_requests()
    assert request.method == "PUT" and request.headers["if-none-match"] == "*"


def test_a_precondition_failure_without_its_condition_is_a_lost_claim(s3: Any) -> None:
    # Some servers answer 412 without naming the If-None-Match condition.
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    s3.inject_faults(1, 412, "PreconditionFailed")
    with pytest.raises(ps.StorageExistsError):
        store.backend.write("executed_scripts/claim.json", b"{}", exclusive=True)


def test_figures_are_sent_concurrently(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    ctx = store.create_execution("f")
    paths = store.save_figures(ctx, [PNG + bytes([i]) for i in range(6)])
    assert [p.name for p in paths] == [f"figure_{i:02d}.png" for i in range(1, 7)]
    assert [store.backend.read(store.key(p))[-1] for p in paths] == list(range(6))


def test_presigned_url_fetches_the_exact_bytes(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", url_expires=600, **s3_options(s3))
    ctx = store.create_execution("p")
    results = store.save_results(ctx, {"ü": [1, 2, 3]})
    s3.take_requests()
    url = store.url(results)
    assert s3.take_requests() == []  # signing sends nothing
    assert url.startswith(s3.endpoint_url + f"/{BUCKET}/runs/executed_scripts/")
    assert "X-Amz-Expires=600" in url and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    assert verify_presigned_get(url, S3_SECRET)
    assert not verify_presigned_get(url, "another-secret")
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == store.backend.read(store.key(results))
        assert response.headers["Content-Type"] == "application/json"
    assert S3_SECRET not in url


def test_presigned_url_for_a_public_endpoint(s3: Any) -> None:
    port = s3.endpoint_url.rsplit(":", 1)[1]
    public = f"http://localhost:{port}"
    store = ps.open_store(f"s3://{BUCKET}/runs", public_endpoint_url=public, **s3_options(s3))
    ctx = store.create_execution("pub")
    figure = store.save_figure(ctx, PNG)
    s3.take_requests()
    url = store.url(figure, expires=120)
    assert url.startswith(public + "/")
    assert verify_presigned_get(url, S3_SECRET)
    # Signed for the public host: the same query on the I/O host does not verify.
    assert not verify_presigned_get(url.replace(public, s3.endpoint_url), S3_SECRET)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == PNG
        assert response.headers["Content-Type"] == "image/png"
    assert [r.method for r in s3.take_requests()] == ["GET"]


def test_presigned_url_expiry(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", url_expires=60, **s3_options(s3))
    url = store.url("executed_scripts/x.json")
    later = datetime.now(timezone.utc) + timedelta(seconds=120)
    assert verify_presigned_get(url, S3_SECRET)
    assert not verify_presigned_get(url, S3_SECRET, now=later)
    with pytest.raises(ValueError):
        store.url("executed_scripts/x.json", expires=8 * 24 * 3600)


def test_missing_bucket_is_a_clear_storage_error(s3: Any) -> None:
    store = ps.open_store("s3://no-such-bucket/runs", **s3_options(s3))
    with pytest.raises(ps.StorageNotFoundError) as info:
        store.create_execution("x")
    message = str(info.value)
    assert "no-such-bucket" in message and s3.endpoint_url in message
    assert isinstance(info.value, OSError)


def test_dead_endpoint_fails_fast_without_leaking_credentials() -> None:
    store = ps.open_store(
        f"s3://{BUCKET}/runs", endpoint_url="http://127.0.0.1:9", key=S3_KEY, secret=S3_SECRET
    )
    started = time.monotonic()
    with pytest.raises(ps.StorageError) as info:
        store.create_execution("x")
    assert time.monotonic() - started < 15
    text = f"{info.value} {info.value!r} {store!r} {store.backend.fs!r}"
    assert "127.0.0.1:9" in str(info.value)
    assert S3_SECRET not in text and S3_KEY not in text


def test_password_in_the_endpoint_url_is_refused_and_never_shown() -> None:
    with pytest.raises(ps.ConfigError) as info:
        ps.open_store(
            f"s3://{BUCKET}/runs",
            endpoint_url="http://admin:SuperSecretPw@127.0.0.1:9",
            key=S3_KEY,
            secret=S3_SECRET,
            deadline=3,
        )
    assert "endpoint_url" in str(info.value)
    assert "SuperSecretPw" not in f"{info.value} {info.value!r} {info.value.args}"


def test_missing_s3fs_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)
    with pytest.raises(ps.MissingDependencyError, match=r"pip install 'pyexec-store\[s3\]'"):
        ps.open_store("s3://bucket/x")


def test_no_request_while_opening(s3: Any) -> None:
    ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3)).url("executed_scripts/a.png")
    assert s3.take_requests() == []


@pytest.mark.parametrize(("status", "code"), [(503, "SlowDown"), (500, "InternalError")])
def test_transient_faults_are_retried(s3: Any, status: int, code: str) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    s3.inject_faults(2, status, code)
    ctx = store.create_execution("retry")
    requests = s3.take_requests()
    assert [r.method for r in requests] == ["PUT"] * 3
    assert len({r.path for r in requests}) == 1  # the same claim, sent again
    assert store.list_executions()[0].path == ctx.folder_path


def test_persistent_faults_give_up_in_bounded_time(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    s3.inject_faults(1000, 500, "InternalError")
    started = time.monotonic()
    with pytest.raises(ps.StorageError, match="injected"):
        store.create_execution("down")
    assert time.monotonic() - started < 15
    assert 2 <= len(s3.take_requests()) <= 5


def test_server_without_conditional_writes_falls_back_to_a_plain_put(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    s3.inject_faults(1, 501, "NotImplemented")
    ctx = store.create_execution("old-minio")
    first, second = s3.take_requests()
    assert first.path == second.path and first.headers.get("if-none-match") == "*"
    assert "if-none-match" not in second.headers
    store.create_attempt_notebook(ctx, "x")  # later claims go straight to plain PUTs
    (attempt,) = s3.take_requests()
    assert "if-none-match" not in attempt.headers


def test_presigned_region_follows_the_environment(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    url = store.url("executed_scripts/x.json")
    assert "%2Feu-west-3%2Fs3%2Faws4_request" in url
    assert verify_presigned_get(url, S3_SECRET)


def test_silent_endpoint_fails_in_bounded_time() -> None:
    """A server that accepts connections and never answers must not hang the caller."""
    with silent_server() as url:
        store = ps.open_store(
            f"s3://{BUCKET}/runs",
            endpoint_url=url,
            key=S3_KEY,
            secret=S3_SECRET,
            config_kwargs={"read_timeout": 1, "connect_timeout": 1},
            deadline=2,
        )
        started = time.monotonic()
        with pytest.raises(ps.StorageError) as info:
            store.create_execution("silent")
        assert time.monotonic() - started < 30  # bounded: without a deadline it never ends
        assert url in str(info.value) and "no answer within" in str(info.value)
        started = time.monotonic()
        with pytest.raises(ps.StorageError):
            store.list_executions()
        assert time.monotonic() - started < 30  # bounded: without a deadline it never ends


def test_access_denied_is_a_permission_error_without_the_secret(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    s3.inject_faults(1, 403, "AccessDenied")
    with pytest.raises(ps.StoragePermissionError) as info:
        store.create_execution("denied")
    assert isinstance(info.value, PermissionError)
    text = f"{info.value} {info.value!r} {store!r}"
    assert S3_SECRET not in text and s3.endpoint_url in text


def test_listing_a_missing_bucket_is_an_error_not_an_empty_store(s3: Any) -> None:
    with pytest.raises(ps.StorageNotFoundError, match="no-such-bucket"):
        ps.open_store("s3://no-such-bucket/runs", **s3_options(s3)).list_executions()
    # A bucket without executions yet is simply empty, whatever its name says.
    assert ps.open_store(f"s3://{BUCKET}/nothing-here", **s3_options(s3)).list_executions() == []
    import boto3

    boto3.client("s3", endpoint_url=s3.endpoint_url).create_bucket(Bucket="ml-bucket")
    store = ps.open_store("s3://ml-bucket/runs", **s3_options(s3))
    assert store.list_executions() == []
    ctx = store.create_execution("no-figures")
    assert store.open_execution(ctx.folder_path).get_next_attempt_number() == 1


def test_bucket_root_without_prefix(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}", **s3_options(s3))
    ctx = store.create_execution("top")
    assert str(ctx.folder_path).startswith(f"s3://{BUCKET}/executed_scripts/")
    assert [r.path for r in store.list_executions()] == [ctx.folder_path]


def test_resuming_reads_the_metadata_and_lists_once(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    ctx = record_one_execution(store)
    s3.take_requests()
    again = store.open_execution(ctx.folder_path)
    requests = s3.take_requests()
    # One listing, then the metadata and the three attempt notebooks in one batch.
    assert [r.method for r in requests] == ["GET"] * 5
    assert sum("list-type" in r.query for r in requests) == 1
    assert again.get_next_attempt_number() == 4 and again.figure_count == 2
    assert again.context_file_path is not None
