"""The S3 backend's settings, checked when the store is opened, before any request.

s3fs hands every option it does not know to aiobotocore's session, and
botocore reads its ``Config`` and client settings only when the first request
is made: a misspelt option (``endpont_url=``) would fail then, as a
``TypeError``. Here every setting is checked against the parameters s3fs,
aiobotocore and botocore really take, whether it came as an argument or from
fsspec's configuration (``FSSPEC_S3_*``); a bad one raises
:class:`~pyexec_store.ConfigError` naming it.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ConfigError, ConfigTypeError
from ..urls.base import check_http_url
from .base import reject_unknown_options

#: Fail fast on a dead endpoint: seconds, not botocore's default minutes.
DEFAULT_CONFIG = {
    "connect_timeout": 3,
    "read_timeout": 10,
    "retries": {"max_attempts": 3, "mode": "standard"},
}
#: Deadline of one request with its retries (the ``deadline`` storage option),
#: plus one second per MB sent or received.
DEADLINE_SECONDS = 20.0
DEADLINE_BYTES_PER_SECOND = 1_000_000

#: fsspec's own options, which s3fs passes on to fsspec rather than to aiobotocore.
FSSPEC_OPTIONS = ("skip_instance_cache", "use_listings_cache", "listings_expiry_time", "max_paths")
#: Options of this library's S3 backend.
OWN_OPTIONS = ("deadline",)
#: Where fsspec's configuration comes from, for messages.
FSSPEC_CONFIG = "fsspec's configuration (FSSPEC_S3_* variables)"


def _parameters(*functions: Callable[..., Any]) -> frozenset[str]:
    """The keyword parameters of ``functions`` (not ``self``, ``*args`` or ``**kwargs``)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return frozenset(
        p.name
        for function in functions
        for p in inspect.signature(function).parameters.values()
        if p.kind in kinds and p.name != "self"
    )


@functools.lru_cache(maxsize=1)
def option_names() -> frozenset[str]:
    """Every storage option an S3 store takes (imports s3fs)."""
    import aiobotocore.session
    import s3fs

    # s3fs's own parameters, then the **kwargs it hands to aiobotocore's session.
    names = _parameters(s3fs.S3FileSystem.__init__, aiobotocore.session.AioSession.__init__)
    return names | frozenset(FSSPEC_OPTIONS) | frozenset(OWN_OPTIONS)


@functools.lru_cache(maxsize=1)
def _config_names() -> frozenset[str]:
    from aiobotocore.config import AioConfig
    from botocore.config import Config

    return frozenset(Config.OPTION_DEFAULTS) | _parameters(AioConfig.__init__)


@functools.lru_cache(maxsize=1)
def sends_default_checksums() -> bool:
    """Whether this botocore adds CRC32 checksums to every body (1.36 and later)."""
    return "request_checksum_calculation" in _config_names()


@functools.lru_cache(maxsize=1)
def _client_names() -> frozenset[str]:
    import botocore.session

    # s3fs passes the service name and the config itself.
    return _parameters(botocore.session.Session.create_client) - {"service_name", "config"}


def configured_options() -> dict[str, Any]:
    """What fsspec's configuration adds to every S3 filesystem (``FSSPEC_S3_*``)."""
    import fsspec.config
    import s3fs

    added: dict[str, Any] = fsspec.config.apply_config(s3fs.S3FileSystem, {})
    return added


def check_url(url: str) -> None:
    """Refuse a store URL without a bucket (``s3://``)."""
    bucket = url.split("://", 1)[-1].split("/", 1)[0]
    if not bucket:
        raise ConfigError(f"{url!r} names no bucket: expected s3://bucket or s3://bucket/prefix")


def check_deadline(deadline: object) -> float:
    """``deadline`` as seconds, if it is a positive number."""
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float)):
        raise ConfigTypeError(f"deadline={deadline!r}: expected a positive number of seconds")
    if not deadline > 0:
        raise ConfigError(f"deadline={deadline!r}: expected a positive number of seconds")
    return float(deadline)


def check_options(options: Mapping[str, Any], configured: Mapping[str, Any]) -> None:
    """Refuse an unknown option, ``config_kwargs`` or ``client_kwargs`` key."""
    names = option_names()
    reject_unknown_options(options, names, "an S3 store")
    reject_unknown_options(configured, names, f"an S3 store in {FSSPEC_CONFIG}")
    merged = {**configured, **options}
    for name, allowed in (("config_kwargs", _config_names()), ("client_kwargs", _client_names())):
        value = merged.get(name)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise ConfigTypeError(f"{name} must be a dict, not {type(value).__name__}")
        reject_unknown_options(value, allowed, f"{name} of an S3 store")


def endpoint_url(options: Mapping[str, Any]) -> str | None:
    """The endpoint I/O goes to, checked (``None``: AWS); ``options`` merged with fsspec's.

    It must be ``http(s)://host[:port]`` without a user name or password:
    credentials go in the credential options, never in a URL that messages show.
    """
    client_kwargs = options.get("client_kwargs") or {}
    for name, value in (
        ("endpoint_url", options.get("endpoint_url")),
        ("client_kwargs['endpoint_url']", client_kwargs.get("endpoint_url")),
        ("AWS_ENDPOINT_URL_S3", os.environ.get("AWS_ENDPOINT_URL_S3")),
        ("AWS_ENDPOINT_URL", os.environ.get("AWS_ENDPOINT_URL")),
    ):
        if value:
            return check_http_url(name, value)
    return None


def session_region(options: Mapping[str, Any]) -> str:
    """The region requests are signed for; refuses a missing profile or a bad region.

    botocore would raise ``ProfileNotFound`` or ``InvalidRegionError`` only when
    the first client is built. No request is sent here.
    """
    import botocore.session
    from botocore.exceptions import ProfileNotFound

    from ._s3fs import check_region

    profile = options.get("profile")
    session = botocore.session.Session(profile=profile)
    try:
        session.get_scoped_config()  # reads ~/.aws/config, finds the profile
    except ProfileNotFound as exc:
        source = "profile" if profile else "AWS_PROFILE"
        raise ConfigError(f"{source}: {exc}") from None
    client_kwargs = options.get("client_kwargs") or {}
    config_kwargs = options.get("config_kwargs") or {}
    for source, region in (
        ("client_kwargs['region_name']", client_kwargs.get("region_name")),
        ("config_kwargs['region_name']", config_kwargs.get("region_name")),
        ("the AWS region setting", session.get_config_variable("region")),
    ):
        if region:
            check_region(source, region)
            return str(region)
    return "us-east-1"
