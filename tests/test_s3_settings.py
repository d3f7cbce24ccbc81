"""Bad S3 settings fail at open_store, before any request, as ConfigError naming them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import BUCKET, S3_KEY, S3_SECRET, s3_options

import pyexec_store as ps
from pyexec_store.backends.s3 import S3Backend


def open_and_write(url: str, **options: Any) -> None:
    """Open a store and, should that work, send one request."""
    ps.open_store(url, **options).create_execution("x")


@pytest.mark.parametrize("strategy", ["presigned", "file"])
@pytest.mark.parametrize(
    ("url", "options", "named"),
    [
        ("s3://", {}, "names no bucket"),
        ("s3:///runs", {}, "names no bucket"),
        (f"s3://{BUCKET}", {"endpont_url": "x"}, "did you mean 'endpoint_url'?"),
        # fsspec's own option that s3fs hands to aiobotocore, which refuses it.
        (f"s3://{BUCKET}", {"batch_size": 4}, "'batch_size'"),
        (f"s3://{BUCKET}", {"config_kwargs": {"conect_timeout": 1}}, "'connect_timeout'?"),
        (f"s3://{BUCKET}", {"client_kwargs": {"regoin_name": "x"}}, "'region_name'?"),
        (f"s3://{BUCKET}", {"profile": "no-such-profile"}, "profile"),
        (f"s3://{BUCKET}", {"client_kwargs": {"region_name": "not a region!"}}, "region_name"),
        (f"s3://{BUCKET}", {"config_kwargs": {"region_name": "us_east_1"}}, "region_name"),
        (f"s3://{BUCKET}", {"deadline": 0}, "deadline"),
    ],
)
def test_bad_settings_fail_at_open_naming_the_option(
    s3: Any, url: str, options: dict[str, Any], named: str, strategy: str
) -> None:
    with pytest.raises(ps.ConfigError, match=named.replace("?", r"\?").replace("(", r"\(")):
        open_and_write(url, **s3_options(s3), url_strategy=strategy, **options)
    assert s3.take_requests() == []


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"config_kwargs": "connect_timeout=1"}, ps.ConfigTypeError),
        ({"client_kwargs": ["region_name"]}, ps.ConfigTypeError),
        ({"deadline": "5"}, ps.ConfigTypeError),
        ({"client_kwargs": {"region_name": 3}}, ps.ConfigTypeError),
    ],
)
def test_settings_of_the_wrong_type(s3: Any, options: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        open_and_write(f"s3://{BUCKET}", **s3_options(s3), **options)
    assert s3.take_requests() == []


@pytest.mark.parametrize(
    ("endpoint", "named"),
    [
        ("ftp://127.0.0.1:21", "expected http"),
        ("http://user:SuperSecretPw@127.0.0.1:9000", "user name or password"),
        ("http://[bad", "Invalid IPv6 URL"),
        ("127.0.0.1:9000", "expected http"),
    ],
)
def test_bad_endpoint_urls(endpoint: str, named: str) -> None:
    for options in ({"endpoint_url": endpoint}, {"client_kwargs": {"endpoint_url": endpoint}}):
        with pytest.raises(ps.ConfigError, match=r"endpoint_url") as info:
            open_and_write(f"s3://{BUCKET}", key=S3_KEY, secret=S3_SECRET, **options)
        assert named in str(info.value)
        assert "SuperSecretPw" not in f"{info.value} {info.value!r} {info.value.args}"


def test_bad_settings_from_the_environment_name_their_source(
    s3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "ftp://127.0.0.1:21")
    with pytest.raises(ps.ConfigError, match="AWS_ENDPOINT_URL_S3"):
        open_and_write(f"s3://{BUCKET}", key=S3_KEY, secret=S3_SECRET)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(ps.ConfigError, match="AWS_PROFILE"):
        open_and_write(f"s3://{BUCKET}", **s3_options(s3), url_strategy="file")
    monkeypatch.delenv("AWS_PROFILE")

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu west 1")
    with pytest.raises(ps.ConfigError, match="eu west 1"):
        open_and_write(f"s3://{BUCKET}", **s3_options(s3), url_strategy="file")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    import fsspec.config

    monkeypatch.setitem(fsspec.config.conf, "s3", {"endpont_url": s3.endpoint_url})
    with pytest.raises(ps.ConfigError, match=r"FSSPEC_S3.*did you mean 'endpoint_url'"):
        open_and_write(f"s3://{BUCKET}", key=S3_KEY, secret=S3_SECRET)
    assert s3.take_requests() == []


def test_every_setting_s3fs_takes_is_accepted(
    s3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text("[profile archive]\nregion = eu-west-3\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    store = ps.open_store(
        f"s3://{BUCKET}/runs",
        **s3_options(s3),
        profile="archive",
        skip_instance_cache=True,
        use_listings_cache=False,
        listings_expiry_time=10,
        max_paths=100,
        config_kwargs={"max_pool_connections": 4},
        client_kwargs={"region_name": "us-east-1"},
        s3_additional_kwargs={"StorageClass": "STANDARD"},
        deadline=30,
    )
    store.create_execution("ok")
    assert [r.method for r in s3.take_requests()] == ["PUT"]
    # The profile's region signs links unless a region is given (AWS_DEFAULT_REGION wins).
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    url = ps.open_store(f"s3://{BUCKET}", **s3_options(s3), profile="archive").url("a.json")
    assert "%2Feu-west-3%2Fs3%2Faws4_request" in url


def test_options_from_fsspec_configuration_are_used(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fsspec.config

    monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": s3.endpoint_url})
    store = ps.open_store(f"s3://{BUCKET}/runs", key=S3_KEY, secret=S3_SECRET)
    store.create_execution("configured")
    assert store.backend.endpoint() == s3.endpoint_url
    assert [r.method for r in s3.take_requests()] == ["PUT"]


def test_accepts_answers_from_the_options_s3fs_takes() -> None:
    for option in ("endpoint_url", "key", "secret", "profile", "deadline", "skip_instance_cache"):
        assert S3Backend.accepts(option)
    for option in ("permissions", "durable", "endpont_url", "batch_size"):
        assert not S3Backend.accepts(option)


def test_environment_settings_an_s3_store_cannot_use_are_skipped(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYEXEC_STORE_PERMISSIONS", "private")
    monkeypatch.setenv("PYEXEC_STORE_DURABLE", "true")
    monkeypatch.setenv("PYEXEC_STORE_DEADLINE", "7")
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    assert isinstance(store.backend, S3Backend) and store.backend.deadline == 7
