"""``doctor``: healthy stores pass; each broken set-up fails its own line, fast, with a fix."""

from __future__ import annotations

import errno
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from archivetools import record
from click.testing import CliRunner
from conftest import BUCKET, S3_KEY, S3_SECRET, s3_options, weed_options
from seaweed import SECRET as WEED_SECRET
from seaweed import SeaweedServer
from slowserver import _serve, silent_server

import pyexec_store as ps
from pyexec_store.backends.s3_options import sends_default_checksums
from pyexec_store.cli.app import cli

#: What ``botocore`` sends with every body by default since 1.36 (and not when required only).
WHEN_REQUIRED = {
    "request_checksum_calculation": "when_required",
    "response_checksum_validation": "when_required",
}


def outcomes(checks: list[ps.Check]) -> dict[str, str]:
    return {c.name: c.outcome for c in checks}


def by_name(checks: list[ps.Check], name: str) -> ps.Check:
    return next(c for c in checks if c.name == name)


def test_a_healthy_moto_store_passes_every_check(s3: Any) -> None:
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    assert set(outcomes(checks).values()) == {"pass"}, [c for c in checks if not c.ok]
    assert list(outcomes(checks)) == [
        "settings",
        "endpoint",
        "clock",
        "credentials",
        "bucket",
        "region",
        "addressing",
        "write",
        "conditional writes",
        "read",
        "checksums",
        "presigned link",
        "delete",
    ]
    assert s3.endpoint_url in by_name(checks, "endpoint").detail
    assert "ignores the SHA-256" in by_name(checks, "checksums").detail  # moto does not check
    text = json.dumps([c.to_dict() for c in checks])
    assert S3_SECRET not in text
    assert ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3)).backend.find("") == []


def test_a_healthy_seaweedfs_store_with_a_public_endpoint(
    weed: SeaweedServer, weed_bucket: str
) -> None:
    public = weed.endpoint_url.replace("127.0.0.1", "localhost")
    options = {**weed_options(weed), "public_endpoint_url": public}
    checks = ps.doctor(f"s3://{weed_bucket}/runs", **options)
    assert set(outcomes(checks).values()) == {"pass"}, [c for c in checks if not c.ok]
    assert "checks the SHA-256" in by_name(checks, "checksums").detail
    assert by_name(checks, "public link").detail.startswith(public)
    assert WEED_SECRET not in json.dumps([c.to_dict() for c in checks])


def test_the_command_prints_a_line_per_check_and_exits_0(s3: Any) -> None:
    option = f"endpoint_url={s3.endpoint_url}"
    result = CliRunner().invoke(cli, ["doctor", "--store", f"s3://{BUCKET}/x", "-o", option])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "all checks passed" and all(x.startswith("PASS") for x in lines[:-1])
    result = CliRunner().invoke(
        cli, ["doctor", "--store", f"s3://{BUCKET}/x", "-o", option, "--json"]
    )
    assert {c["outcome"] for c in json.loads(result.stdout)} == {"pass"}


def test_a_dead_endpoint_fails_in_seconds_and_names_it() -> None:
    started = time.monotonic()
    checks = ps.doctor(
        f"s3://{BUCKET}/x", endpoint_url="http://127.0.0.1:9", key=S3_KEY, secret=S3_SECRET
    )
    assert time.monotonic() - started < 5
    endpoint = by_name(checks, "endpoint")
    assert endpoint.outcome == "fail" and "127.0.0.1:9 refused the connection" in endpoint.detail
    assert "9000" in endpoint.hint  # MinIO's API port
    assert {c.outcome for c in checks[2:]} == {"skip"}
    result = CliRunner().invoke(
        cli, ["doctor", "--store", f"s3://{BUCKET}/x", "-o", "endpoint_url=http://127.0.0.1:9"]
    )
    assert result.exit_code == 1 and "fix:" in result.stdout


def test_a_silent_endpoint_is_told_apart_from_a_refused_one() -> None:
    with silent_server() as url:
        started = time.monotonic()
        checks = ps.doctor(f"s3://{BUCKET}/x", endpoint_url=url, key=S3_KEY, secret=S3_SECRET)
        assert time.monotonic() - started < 10
    endpoint = by_name(checks, "endpoint")
    assert endpoint.outcome == "fail"
    assert "accepts connections but sends no HTTP answer within 3 s" in endpoint.detail


def test_a_name_that_does_not_resolve_is_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    # No DNS query leaves this machine: the resolver's answer is the one a typo gets.
    def no_such_name(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    checks = ps.doctor(
        f"s3://{BUCKET}/x", endpoint_url="http://minio:9000", key=S3_KEY, secret=S3_SECRET
    )
    endpoint = by_name(checks, "endpoint")
    assert "the name 'minio' does not resolve (DNS" in endpoint.detail
    assert "Docker" in endpoint.hint


def test_a_missing_bucket(s3: Any) -> None:
    checks = ps.doctor("s3://no-such-bucket/x", **s3_options(s3))
    bucket = by_name(checks, "bucket")
    assert bucket.outcome == "fail" and "no-such-bucket does not exist" in bucket.detail
    assert "mc mb" in bucket.hint
    assert by_name(checks, "credentials").outcome == "pass"
    assert by_name(checks, "write").outcome == "skip"


def test_wrong_credentials_on_seaweedfs(weed: SeaweedServer, weed_bucket: str) -> None:
    options = {**weed_options(weed), "secret": "not-the-secret"}
    checks = ps.doctor(f"s3://{weed_bucket}/x", **options)
    creds = by_name(checks, "credentials")
    assert creds.outcome == "fail" and "the secret does not match" in creds.detail
    options = {**weed_options(weed), "key": "nobody-knows-me"}
    creds = by_name(ps.doctor(f"s3://{weed_bucket}/x", **options), "credentials")
    assert creds.outcome == "fail" and "does not know the access key id" in creds.detail
    assert "not-the-secret" not in json.dumps([c.to_dict() for c in checks])


def test_wrong_credentials_on_moto(s3: Any) -> None:
    s3.require_auth()
    checks = ps.doctor(
        f"s3://{BUCKET}/x", endpoint_url=s3.endpoint_url, key="AKIAUNKNOWN0000", secret="s"
    )
    creds = by_name(checks, "credentials")
    assert creds.outcome == "fail" and "does not know the access key id" in creds.detail


def test_a_server_without_conditional_writes_is_a_warning_not_a_failure(s3: Any) -> None:
    s3.inject_faults(1, 501, "NotImplemented", header="if-none-match")
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    conditional = by_name(checks, "conditional writes")
    assert conditional.outcome == "warn" and "not supported (501" in conditional.detail
    assert all(c.ok for c in checks)
    result = CliRunner().invoke(
        cli, ["doctor", "--store", f"s3://{BUCKET}/runs", "-o", f"endpoint_url={s3.endpoint_url}"]
    )
    assert result.exit_code == 0


def refuse_checksum_headers(s3: Any) -> None:
    """An older server: a body sent with a checksum header is refused."""
    s3.inject_faults(
        1000,
        400,
        "InvalidArgument",
        "x-amz-checksum not supported",
        header="x-amz-sdk-checksum-algorithm",
        method="PUT",
    )


@pytest.mark.skipif(
    sends_default_checksums(), reason="this botocore sends checksums by default (1.36+)"
)
def test_a_server_refusing_checksums_with_a_botocore_sending_none(
    s3: Any, local_root: Path
) -> None:
    refuse_checksum_headers(s3)
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    assert all(c.outcome == "pass" for c in checks), [c for c in checks if not c.ok]
    detail = by_name(checks, "checksums").detail
    assert "sends no checksum by default" in detail and "refuses SHA-256" in detail
    assert "no checksum sent" in by_name(checks, "write").detail
    src = ps.open_store(local_root)
    record(src, "old-server")
    dst = ps.open_store(f"s3://{BUCKET}/archive", **s3_options(s3))
    report = ps.archive(src, dst)
    assert report.ok and report.archived == 1
    assert set(report.executions[0].verified_by) == {"read back"}


@pytest.mark.skipif(
    not sends_default_checksums(), reason="this botocore sends no checksum by default (<1.36)"
)
def test_a_server_refusing_botocores_default_checksums_and_the_fix(
    s3: Any, local_root: Path
) -> None:
    refuse_checksum_headers(s3)
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    failed = by_name(checks, "checksums")
    assert failed.outcome == "fail" and "request_checksum_calculation" in failed.hint
    fixed = ps.doctor(f"s3://{BUCKET}/runs", config_kwargs=WHEN_REQUIRED, **s3_options(s3))
    assert all(c.outcome == "pass" for c in fixed), [c for c in fixed if not c.ok]
    assert "refuses SHA-256 checksums" in by_name(fixed, "checksums").detail
    # With the fix, archives send no checksum and read every copy back.
    src = ps.open_store(local_root)
    record(src, "old-server")
    dst = ps.open_store(f"s3://{BUCKET}/archive", config_kwargs=WHEN_REQUIRED, **s3_options(s3))
    report = ps.archive(src, dst)
    assert report.ok and report.archived == 1
    assert set(report.executions[0].verified_by) == {"read back"}


def test_a_local_store(tmp_path: Path) -> None:
    checks = ps.doctor(tmp_path / "store", permissions="container")
    assert outcomes(checks) == {
        "settings": "pass",
        "folder": "pass",
        "permissions": "pass",
        "disk": "pass",
    }
    assert "3777" in by_name(checks, "permissions").detail
    assert list((tmp_path / "store").iterdir()) == []  # the probe is gone


def test_jupyter_links_need_the_server(tmp_path: Path) -> None:
    from test_jupyter import JupyterLab

    root = tmp_path / "home" / "agent_data"
    (root / "executed_scripts").mkdir(parents=True)
    lab = JupyterLab(root)
    dead = ps.doctor(root, url_strategy="jupyter", jupyter_base_url="http://127.0.0.1:9")
    assert by_name(dead, "jupyter").outcome == "fail"
    assert "--ServerApp.root_dir" in by_name(dead, "jupyter").hint
    lab.start()
    try:
        live = ps.doctor(root, url_strategy="jupyter", jupyter_base_url=lab.base)
        jupyter = by_name(live, "jupyter")
        assert jupyter.outcome == "pass" and "serves executed_scripts/" in jupyter.detail
        other = ps.doctor(
            tmp_path / "elsewhere",
            url_strategy="jupyter",
            jupyter_base_url=lab.base,
            jupyter_prefix="not-here",
        )
        assert by_name(other, "jupyter").outcome == "fail"
    finally:
        lab.stop()


def test_bad_settings_are_one_failed_check() -> None:
    (check,) = ps.doctor("s3://bucket/x", endpont_url="http://127.0.0.1:9")
    assert (check.name, check.outcome) == ("settings", "fail")
    assert "endpoint_url" in check.detail


# --- Stores on neither local disk nor S3: a probe written, read back and deleted. ---


def test_a_healthy_memory_store_passes_the_probe(memory_url: str) -> None:
    store = ps.open_store(memory_url)
    checks = ps.doctor(store)  # a store, not a URL: used as it is
    assert outcomes(checks) == {
        "settings": "pass",
        "write": "pass",
        "read": "pass",
        "delete": "pass",
    }
    assert "MemoryBackend" in by_name(checks, "settings").detail
    probe_folder = store.backend.uri(".pyexec-store-doctor")
    assert by_name(checks, "write").detail.startswith(f"wrote {probe_folder}/")
    assert store.backend.find("") == []  # the probe is gone


def refuse(operation: str) -> Any:
    """A backend method that fails as a storage that refuses ``operation`` does."""

    def refusing(*args: Any, **kwargs: Any) -> Any:
        raise ps.StorageError(operation, "memory://probe", None, "refused by the test")

    return refusing


def test_a_memory_store_that_cannot_be_written(
    memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ps.open_store(memory_url)
    monkeypatch.setattr(store.backend, "write", refuse("write"))
    checks = ps.doctor(store)
    write = by_name(checks, "write")
    assert write.outcome == "fail" and "could not write" in write.detail
    assert "refused by the test" in write.detail
    assert outcomes(checks)["read"] == outcomes(checks)["delete"] == "skip"


def test_a_memory_store_whose_probe_cannot_be_read_back(
    memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ps.open_store(memory_url)
    real_read = store.backend.read
    reads: list[str] = []

    def first_read_fails(key: str) -> bytes:
        # Only the first read fails: the one after the delete must see the probe gone.
        reads.append(key)
        if len(reads) == 1:
            raise ps.StorageError("read", key, None, "refused by the test")
        return real_read(key)

    monkeypatch.setattr(store.backend, "read", first_read_fails)
    checks = ps.doctor(store)
    read = by_name(checks, "read")
    assert read.outcome == "fail" and "could not read the probe back" in read.detail
    assert outcomes(checks)["delete"] == "pass"
    assert store.backend.find("") == []


def test_a_memory_store_reading_back_other_bytes(
    memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ps.open_store(memory_url)
    real_read = store.backend.read
    monkeypatch.setattr(store.backend, "read", lambda key: real_read(key)[::-1])
    checks = ps.doctor(store)
    assert by_name(checks, "read") == ps.Check("read", "fail", "read back other bytes")
    assert outcomes(checks)["delete"] == "pass"


def test_a_memory_store_that_cannot_delete(
    memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ps.open_store(memory_url)
    monkeypatch.setattr(store.backend, "delete", refuse("delete"))
    checks = ps.doctor(store)
    delete = by_name(checks, "delete")
    assert delete.outcome == "fail" and "could not delete the probe" in delete.detail
    assert outcomes(checks)["read"] == "pass"


def test_a_memory_store_whose_delete_leaves_the_probe(
    memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ps.open_store(memory_url)
    monkeypatch.setattr(store.backend, "delete", lambda keys: None)  # says done, does nothing
    checks = ps.doctor(store)
    delete = by_name(checks, "delete")
    assert delete.outcome == "fail" and "still there after it was deleted" in delete.detail
    assert len(store.backend.find(".pyexec-store-doctor")) == 1


def test_the_command_on_a_memory_store(memory_url: str) -> None:
    result = CliRunner().invoke(cli, ["doctor", "--store", memory_url, "--json"])
    assert result.exit_code == 0, result.output
    assert [c["name"] for c in json.loads(result.stdout)] == ["settings", "write", "read", "delete"]


# --- Local stores that fail. ---


def test_a_local_store_below_a_file_cannot_be_written(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder\n")
    checks = ps.doctor(tmp_path / "a-file" / "store")
    folder = by_name(checks, "folder")
    assert folder.outcome == "fail" and "cannot write" in folder.detail
    assert "another folder" in folder.hint
    assert outcomes(checks)["permissions"] == "skip"


def test_a_local_store_reading_back_other_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ps.open_store(tmp_path / "store")
    monkeypatch.setattr(store.backend, "read", lambda key: b"a disk that lies\n")
    checks = ps.doctor(store)
    folder = by_name(checks, "folder")
    assert folder.outcome == "fail" and "differs from what was written" in folder.detail
    assert list((tmp_path / "store").iterdir()) == []  # the probe is removed all the same


# --- S3: each refusal of the listing, and each step of the probe that fails. ---


def test_a_key_that_may_not_list_the_bucket(s3: Any) -> None:
    s3.inject_faults(1, 403, "AccessDenied", "Access Denied", match="list-type")
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    bucket = by_name(checks, "bucket")
    assert bucket.outcome == "fail" and "s3:ListBucket" in bucket.detail
    assert by_name(checks, "credentials").outcome == "pass"
    assert outcomes(checks)["write"] == "skip"


def test_a_bucket_in_another_region_named_by_the_server(s3: Any) -> None:
    # AWS's answer to a request signed for the wrong region names the right one.
    body = (
        b"<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is "
        b"wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region></Error>"
    )
    s3.inject_faults(5, 400, "AuthorizationHeaderMalformed", body=body, match="list-type")
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    region = by_name(checks, "region")
    assert region.outcome == "fail", checks
    assert region.detail == "signed for us-east-1, the bucket is in eu-west-1"
    assert "AWS_DEFAULT_REGION=eu-west-1" in region.hint
    assert outcomes(checks)["bucket"] == "pass" and outcomes(checks)["addressing"] == "skip"


def test_a_bucket_in_another_region_not_named(s3: Any) -> None:
    s3.inject_faults(5, 301, "PermanentRedirect", "use the bucket's endpoint", match="list-type")
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    region = by_name(checks, "region")
    assert region.outcome == "fail", checks
    assert region.detail == "signed for us-east-1, the bucket is in another region"


def test_a_listing_refused_for_another_reason(s3: Any) -> None:
    s3.inject_faults(1, 400, "InvalidRequest", "something else entirely", match="list-type")
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    creds = by_name(checks, "credentials")
    assert creds.outcome == "fail", checks
    assert f"listing {BUCKET} at {s3.endpoint_url} failed" in creds.detail
    assert outcomes(checks)["bucket"] == "skip"


def test_a_bucket_whose_region_differs_from_the_signing_one(s3: Any) -> None:
    import boto3

    boto3.client("s3", endpoint_url=s3.endpoint_url).create_bucket(
        Bucket="in-europe", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    checks = ps.doctor("s3://in-europe/runs", **s3_options(s3))
    region = by_name(checks, "region")
    assert region.outcome == "warn", checks
    assert region.detail == "signed for us-east-1, the bucket says eu-west-1"
    assert "'region_name': 'eu-west-1'" in region.hint


def test_no_credentials_at_all(s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    # No file botocore could find credentials in either.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    checks = ps.doctor(f"s3://{BUCKET}/runs", endpoint_url=s3.endpoint_url)
    creds = by_name(checks, "credentials")
    assert creds.outcome == "fail", checks
    assert creds.detail == "no credentials found" and "AWS_ACCESS_KEY_ID" in creds.hint


def test_virtual_hosted_requests_to_a_host_that_does_not_resolve(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo

    # Only localhost resolves: no DNS query for the bucket's host name leaves this machine.
    def only_loopback(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("localhost", "127.0.0.1"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", only_loopback)
    virtual = {"s3": {"addressing_style": "virtual"}}
    options = {**s3_options(s3), "endpoint_url": s3.endpoint_url.replace("127.0.0.1", "localhost")}
    checks = ps.doctor(f"s3://{BUCKET}/runs", config_kwargs=virtual, **options)
    addressing = by_name(checks, "addressing")
    assert addressing.outcome == "fail", checks
    assert f"virtual-hosted requests go to {BUCKET}.localhost" in addressing.detail
    assert '"addressing_style": "path"' in addressing.hint
    assert by_name(checks, "credentials").outcome == "skip"


def test_a_probe_that_may_not_be_written(s3: Any) -> None:
    s3.inject_faults(1, 403, "AccessDenied", "Access Denied", method="PUT")
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    write = by_name(checks, "write")
    assert write.outcome == "fail" and "could not write s3://" in write.detail, checks
    assert "s3:PutObject" in write.hint
    assert {c.outcome for c in checks[checks.index(write) + 1 :]} == {"skip"}


def test_a_second_exclusive_write_that_fails_oddly(s3: Any) -> None:
    # The probe is written; the second exclusive write gets neither 412 nor success.
    s3.inject_faults(1, 403, "AccessDenied", "Access Denied", method="PUT", after=1)
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    conditional = by_name(checks, "conditional writes")
    assert conditional.outcome == "fail", checks
    assert "a second exclusive write failed oddly" in conditional.detail
    assert outcomes(checks)["read"] == outcomes(checks)["delete"] == "pass"


def test_a_probe_that_cannot_be_read_back(s3: Any) -> None:
    # GETs: the endpoint's /, the listing, then the probe read back.
    s3.inject_faults(1, 403, "AccessDenied", "Access Denied", method="GET", after=2)
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    read = by_name(checks, "read")
    assert read.outcome == "fail" and "could not read the probe back" in read.detail, checks
    assert outcomes(checks)["checksums"] == "skip"
    assert outcomes(checks)["delete"] == "pass"


def test_a_server_returning_other_bytes_for_the_probe(s3: Any) -> None:
    s3.inject_faults(1, 200, "OK", body=b"short", method="GET", after=2)  # as above
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    checksums = by_name(checks, "checksums")
    assert checksums.outcome == "fail", checks
    assert checksums.detail.startswith("the server returned 5 bytes for the ")
    assert "request_checksum_calculation" in checksums.hint
    assert outcomes(checks)["read"] == "pass"


def test_a_presigned_link_the_server_refuses(s3: Any) -> None:
    # Only the presigned link carries its signature in the query string.
    s3.inject_faults(1, 403, "SignatureDoesNotMatch", "no", match="X-Amz-Signature")
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    link = by_name(checks, "presigned link")
    assert link.outcome == "fail", checks
    assert link.detail.startswith(f"{s3.endpoint_url}/{BUCKET}/runs/.pyexec-store-doctor/")
    assert "HTTP 403" in link.detail and "X-Amz-Signature" not in link.detail
    assert "Host header" in link.hint


def test_a_presigned_link_returning_other_bytes(s3: Any) -> None:
    s3.inject_faults(1, 200, "OK", body=b"a proxy's page", match="X-Amz-Signature")
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    link = by_name(checks, "presigned link")
    assert link.outcome == "fail", checks
    assert link.detail.endswith("returned other bytes than were written")


def test_a_public_endpoint_this_machine_cannot_reach_is_a_warning(s3: Any) -> None:
    options = {**s3_options(s3), "public_endpoint_url": "http://127.0.0.1:9"}
    checks = ps.doctor(f"s3://{BUCKET}/runs", **options)
    public = by_name(checks, "public link")
    assert public.outcome == "warn", checks
    assert public.detail.startswith("http://127.0.0.1:9/")
    assert "cannot be fetched from this machine" in public.detail
    assert all(c.ok for c in checks)


def test_a_probe_that_may_not_be_deleted(s3: Any) -> None:
    s3.inject_faults(1, 403, "AccessDenied", "Access Denied", match="delete", method="POST")
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    delete = by_name(checks, "delete")
    assert delete.outcome == "fail" and "could not delete the probe" in delete.detail, checks
    assert "s3:DeleteObject" in delete.hint


def test_a_server_that_says_it_deleted_the_probe_but_did_not(s3: Any) -> None:
    s3.inject_faults(1, 200, "OK", body=b"<DeleteResult></DeleteResult>", match="delete")
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    delete = by_name(checks, "delete")
    assert delete.outcome == "fail", checks
    assert delete.detail == "the probe is still there after DeleteObjects said it was deleted"
    assert len(ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3)).backend.find("")) == 1


# --- The endpoint: each way of not answering told apart; the clock. ---


@contextmanager
def http_server(answer: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1 where ``answer`` writes each response."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer(self)

        do_HEAD = do_PUT = do_POST = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def reply(
    handler: BaseHTTPRequestHandler, status: int, body: bytes = b"", date: str | None = None
) -> None:
    """An answer with exactly the ``Date`` header given (none if ``None``)."""
    handler.send_response_only(status)
    if date is not None:
        handler.send_header("Date", date)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def dated(offset: timedelta | None, text: str | None = None) -> Callable[[Any], None]:
    """A server whose clock is ``offset`` from ours (or whose Date is ``text``)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        date = (
            text
            if offset is None
            else format_datetime(datetime.now(timezone.utc) + offset, usegmt=True)
        )
        reply(handler, 400, b"<Error><Code>InvalidRequest</Code></Error>", date)

    return answer


@pytest.mark.parametrize(
    ("answer", "outcome", "words"),
    [
        (dated(None), "warn", "the server sent no Date header: skew unknown"),
        (dated(None, "not a date"), "warn", "the server sent no Date header: skew unknown"),
        (dated(timedelta(hours=1)), "fail", "ahead of ours: signed requests are refused beyond"),
        (dated(-timedelta(minutes=5)), "warn", "behind ours: within SigV4's 15 minutes"),
    ],
    ids=["no-date", "bad-date", "an-hour-ahead", "five-minutes-behind"],
)
def test_the_clock_against_the_servers_date(
    answer: Callable[[Any], None], outcome: str, words: str
) -> None:
    with http_server(answer) as url:
        checks = ps.doctor(f"s3://{BUCKET}/x", endpoint_url=url, key=S3_KEY, secret=S3_SECRET)
    clock = by_name(checks, "clock")
    assert clock.outcome == outcome and words in clock.detail, checks
    if outcome == "fail":
        assert "NTP" in clock.hint


def test_a_dns_server_that_never_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def no_answer(*args: Any, **kwargs: Any) -> Any:
        release.wait()  # a resolver that hangs, until the test ends
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", no_answer)
    try:
        checks = ps.doctor(
            f"s3://{BUCKET}/x", endpoint_url="http://minio:9000", key=S3_KEY, secret=S3_SECRET
        )
    finally:
        release.set()
    endpoint = by_name(checks, "endpoint")
    assert endpoint.outcome == "fail" and "no DNS answer for minio within 3 s" in endpoint.detail
    assert "DNS server" in endpoint.hint


@pytest.mark.parametrize(
    ("error", "words", "hint"),
    [
        (
            TimeoutError("timed out"),
            "no answer from 127.0.0.1:9000 (127.0.0.1) within 3 s",
            "firewall",
        ),
        (
            OSError(errno.ENETUNREACH, "Network is unreachable"),
            "cannot connect to 127.0.0.1:9000: Network is unreachable",
            "",
        ),
    ],
    ids=["dropped", "unreachable"],
)
def test_a_connection_that_cannot_be_made(
    monkeypatch: pytest.MonkeyPatch, error: OSError, words: str, hint: str
) -> None:
    # What a firewall dropping packets, or a missing route, does to connect().
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(socket, "create_connection", fail)
    checks = ps.doctor(
        f"s3://{BUCKET}/x", endpoint_url="http://127.0.0.1:9000", key=S3_KEY, secret=S3_SECRET
    )
    endpoint = by_name(checks, "endpoint")
    assert endpoint.outcome == "fail" and words in endpoint.detail, endpoint
    assert hint in endpoint.hint if hint else endpoint.hint == ""


def test_https_to_a_server_without_tls(s3: Any) -> None:
    url = s3.endpoint_url.replace("http://", "https://")
    checks = ps.doctor(f"s3://{BUCKET}/x", endpoint_url=url, key=S3_KEY, secret=S3_SECRET)
    endpoint = by_name(checks, "endpoint")
    assert endpoint.outcome == "fail" and f"{url}: TLS failed" in endpoint.detail, endpoint
    assert "use http://" in endpoint.hint


def test_a_server_that_hangs_up_without_an_answer() -> None:
    def hang_up(conn: socket.socket, stop: threading.Event) -> None:
        with conn:
            conn.recv(65536)  # the request, then nothing

    with _serve(hang_up) as url:
        checks = ps.doctor(f"s3://{BUCKET}/x", endpoint_url=url, key=S3_KEY, secret=S3_SECRET)
    endpoint = by_name(checks, "endpoint")
    assert endpoint.outcome == "fail" and f"{url}: no HTTP answer" in endpoint.detail, endpoint


# --- Jupyter: a server that is not Jupyter, one that wants a token, one that hangs up. ---


def jupyter(contents: Callable[[BaseHTTPRequestHandler], None]) -> Callable[[Any], None]:
    """A Jupyter-like server: ``/`` and ``/api`` answer; ``contents`` answers the rest."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/":
            reply(handler, 200, b"<html></html>")
        elif handler.path == "/api":
            reply(handler, 200, b'{"version": "2.99.0"}')
        else:
            contents(handler)

    return answer


def test_a_server_that_is_not_jupyter(tmp_path: Path) -> None:
    with http_server(lambda handler: reply(handler, 200, b"<html>a web page</html>")) as url:
        checks = ps.doctor(tmp_path, url_strategy="jupyter", jupyter_base_url=url)
    check = by_name(checks, "jupyter")
    assert check.outcome == "fail" and f"{url}/api is no Jupyter server API" in check.detail


def test_a_jupyter_server_asking_for_a_token_is_a_warning(tmp_path: Path) -> None:
    with http_server(jupyter(lambda handler: reply(handler, 403))) as url:
        checks = ps.doctor(tmp_path, url_strategy="jupyter", jupyter_base_url=url)
    check = by_name(checks, "jupyter")
    assert check.outcome == "warn", check
    assert (
        check.detail
        == f"Jupyter Server 2.99.0 at {url} asks for a token: links open after logging in"
    )
    assert "--IdentityProvider.token=" in check.hint
    assert all(c.ok for c in checks)


def test_a_jupyter_server_hanging_up_on_the_contents_request(tmp_path: Path) -> None:
    def hang_up(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True  # no answer at all

    with http_server(jupyter(hang_up)) as url:
        checks = ps.doctor(tmp_path, url_strategy="jupyter", jupyter_base_url=url)
    check = by_name(checks, "jupyter")
    assert check.outcome == "fail", check
    assert check.detail.startswith(f"{url}/api/contents/executed_scripts?content=0: ")


def test_a_filesystem_that_does_not_keep_modes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    # As SMB or a root-squashed NFS mount: chmod succeeds and changes nothing.
    monkeypatch.setattr(os, "fchmod", lambda fd, mode: None)
    checks = ps.doctor(tmp_path / "store", permissions="container")
    permissions = by_name(checks, "permissions")
    assert permissions.outcome == "fail", checks
    assert (
        "(policy 3777)" in permissions.detail and "execution folders got 0700" in permissions.detail
    )
    assert 'permissions="private"' in permissions.hint
    assert outcomes(checks)["folder"] == "pass"


def test_a_server_that_ignores_if_none_match_is_a_warning(s3: Any) -> None:
    # The second exclusive write of the probe is answered 200, as by a server ignoring the header.
    s3.inject_faults(1, 200, "OK", body=b"", header="if-none-match", after=1)
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    conditional = by_name(checks, "conditional writes")
    assert conditional.outcome == "warn", checks
    assert "ignores If-None-Match" in conditional.detail
    assert all(c.ok for c in checks)


@pytest.mark.skipif(
    not sends_default_checksums(), reason="this botocore asks for no checksum by default (<1.36)"
)
def test_a_server_refusing_the_checksum_mode_of_a_read(s3: Any) -> None:
    # Older servers refuse the x-amz-checksum-mode header botocore 1.36+ sends with a GET.
    s3.inject_faults(
        1,
        400,
        "InvalidArgument",
        "x-amz-checksum-mode is not supported",
        header="x-amz-checksum-mode",
        method="GET",
    )
    checks = ps.doctor(f"s3://{BUCKET}/runs", **s3_options(s3))
    assert by_name(checks, "read").outcome == "fail", checks
    checksums = by_name(checks, "checksums")
    assert (
        checksums.outcome == "fail" and "reading back failed its checksum check" in checksums.detail
    )
    assert "response_checksum_validation" in checksums.hint
