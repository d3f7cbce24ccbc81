"""S3 errors: the right type, and never a secret, wherever the text came from."""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import BUCKET, S3_KEY, S3_SECRET, s3_options
from slowserver import silent_server

import pyexec_store as ps
from pyexec_store.backends import read_file_url, write_file_url
from pyexec_store.errors import DeadlineError


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception reachable from it through ``__cause__``/``__context__``."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]


def assert_never_shows(error: BaseException, secret: str) -> None:
    for link in chain(error):
        text = f"{link} {link!r} {link.args!r} {vars(link) if hasattr(link, '__dict__') else ''}"
        assert secret not in text, f"{type(link).__name__} shows the secret"


def test_redaction_keeps_a_bucket_name_that_contains_the_secret(s3: Any) -> None:
    store = ps.open_store(
        "s3://test-artifacts/runs", endpoint_url=s3.endpoint_url, key="test", secret="test"
    )
    with pytest.raises(ps.StorageNotFoundError) as info:
        store.create_execution("x")
    assert "s3://test-artifacts/runs/executed_scripts/" in str(info.value)


def test_a_one_letter_secret_leaves_a_timeout_readable() -> None:
    with silent_server() as url:
        store = ps.open_store(
            f"s3://{BUCKET}/runs",
            endpoint_url=url,
            key=S3_KEY,
            secret="s",
            config_kwargs={"connect_timeout": 1, "read_timeout": 1},
            deadline=1,
        )
        with pytest.raises(ps.StorageError, match="no answer within 1 s"):
            store.create_execution("x")
    timeout = DeadlineError(errno.ETIMEDOUT, "no answer within 20 s")
    assert "no answer within 20 s" in str(store.backend.translate(timeout, "read", "a.json"))  # type: ignore[attr-defined]


@pytest.mark.parametrize("operation", ["write", "read", "list"])
def test_a_secret_in_the_servers_error_never_reaches_the_caller(s3: Any, operation: str) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    ctx = store.create_execution("secret")
    # The server echoes the secret (and the access key id) in its error message.
    s3.inject_faults(1, 403, "AccessDenied", f"key {S3_KEY} signed with {S3_SECRET}")
    with pytest.raises(ps.StoragePermissionError) as info:
        if operation == "write":
            store.save_results(ctx, {"x": 1})
        elif operation == "read":
            store.backend.read(store.key(ctx.folder_path) + "/execution_metadata.json")
        else:
            store.list_executions()
    assert_never_shows(info.value, S3_SECRET)
    assert "***" in str(info.value)
    # The access key id is no secret: every presigned link carries it.
    assert S3_KEY in str(info.value) and S3_KEY not in store.backend.secrets()  # type: ignore[attr-defined]


def test_secrets_from_the_environment_and_fsspec_configuration(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fsspec.config

    monkeypatch.setenv("AWS_SESSION_TOKEN", "token-from-aws-env")
    monkeypatch.setenv("FSSPEC_S3_SECRET", "secret-from-fsspec-env")
    monkeypatch.setenv("FSSPEC_S3_TOKEN", "token-from-fsspec-env")
    monkeypatch.setitem(
        fsspec.config.conf, "s3", {"secret": "secret-from-conf", "token": "token-from-conf"}
    )
    store = ps.open_store(f"s3://{BUCKET}/runs", endpoint_url=s3.endpoint_url, key=S3_KEY)
    secrets = store.backend.secrets()  # type: ignore[attr-defined]
    for value in (
        S3_SECRET,  # AWS_SECRET_ACCESS_KEY
        "token-from-aws-env",
        "secret-from-fsspec-env",
        "token-from-fsspec-env",
        "secret-from-conf",  # what s3fs resolved: fs.secret, fs.token
        "token-from-conf",
    ):
        assert value in secrets
    s3.inject_faults(1, 403, "AccessDenied", "conf token-from-conf env token-from-aws-env")
    with pytest.raises(ps.StoragePermissionError) as info:
        store.create_execution("x")
    assert_never_shows(info.value, "token-from-conf")
    assert_never_shows(info.value, "token-from-aws-env")


def test_wrong_credentials_are_a_permission_error(s3: Any) -> None:
    import boto3

    iam = boto3.client("iam", endpoint_url=s3.endpoint_url)
    iam.create_user(UserName="archiver")
    access = iam.create_access_key(UserName="archiver")["AccessKey"]
    s3.require_auth()
    try:
        for key, secret in (
            ("AKIAUNKNOWNKEY000000", S3_SECRET),  # a key the server does not know
            (access["AccessKeyId"], "not-the-right-secret"),  # a wrong signature
            (access["AccessKeyId"], access["SecretAccessKey"]),  # a user with no permission
        ):
            store = ps.open_store(
                f"s3://{BUCKET}/runs", endpoint_url=s3.endpoint_url, key=key, secret=secret
            )
            with pytest.raises(ps.StoragePermissionError) as info:
                store.create_execution("x")
            assert isinstance(info.value, PermissionError)
            assert_never_shows(info.value, secret)
            with pytest.raises(ps.StoragePermissionError):
                store.list_executions()
    finally:
        s3.require_auth(False)


def test_no_credentials_at_all_is_a_permission_error(
    s3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    store = ps.open_store(
        f"s3://{BUCKET}/runs",
        endpoint_url=s3.endpoint_url,
        skip_instance_cache=True,
        url_strategy="file",
    )
    with pytest.raises(ps.StoragePermissionError, match="credentials"):
        store.create_execution("x")


def test_file_urls_on_a_dead_endpoint_fail_as_storage_errors() -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    url = f"s3://{BUCKET}/runs/context.json"
    for call in (
        lambda: read_file_url(url, endpoint_url=endpoint, deadline=3),
        lambda: write_file_url(url, b"{}", endpoint_url=endpoint, deadline=3),
    ):
        started = time.monotonic()
        with pytest.raises(ps.StorageError) as info:
            call()
        assert time.monotonic() - started < 15
        assert endpoint in str(info.value) and url in str(info.value)
        assert_never_shows(info.value, S3_SECRET)


def test_file_urls_of_missing_objects_and_buckets(s3: Any) -> None:
    options = s3_options(s3)
    with pytest.raises(ps.StorageNotFoundError):
        read_file_url(f"s3://{BUCKET}/runs/no-such.json", **options)
    with pytest.raises(ps.StorageNotFoundError):
        read_file_url("s3://no-such-bucket/runs/context.json", **options)
    with pytest.raises(ps.StorageNotFoundError):
        write_file_url("s3://no-such-bucket/runs/context.json", b"{}", **options)
    write_file_url(f"s3://{BUCKET}/runs/context.json", b'{"k": 1}', **options)
    assert read_file_url(f"s3://{BUCKET}/runs/context.json", **options) == b'{"k": 1}'
    with pytest.raises(ps.ConfigError, match="names no file"):
        read_file_url(f"s3://{BUCKET}", **options)


def test_file_urls_translate_what_a_filesystem_raises_while_connecting() -> None:
    # fsspec's FTP filesystem connects as soon as it is made.
    url = f"ftp://127.0.0.1:{closed_port()}/runs/context.json"
    with pytest.raises(ps.StorageError) as info:
        read_file_url(url)
    assert isinstance(info.value, OSError) and "127.0.0.1" in str(info.value)
    with pytest.raises(ps.StorageError):
        write_file_url(url, b"{}")
