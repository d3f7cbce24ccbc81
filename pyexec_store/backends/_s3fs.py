"""Every use of s3fs's and botocore's internals, in one place.

Checked against s3fs 2024.6.0 and 2026.9.0 (with aiobotocore 3.10 and
botocore 1.43):

- ``botocore.utils.validate_region_name`` is the check botocore makes of a
  region when it builds a client.
"""

from __future__ import annotations

from ..errors import ConfigError, ConfigTypeError


def check_region(source: str, region: object) -> None:
    """Refuse a region botocore would refuse when building a client."""
    from botocore.exceptions import InvalidRegionError
    from botocore.utils import validate_region_name

    if not isinstance(region, str):
        raise ConfigTypeError(f"{source} must be a str, not {type(region).__name__}")
    try:
        validate_region_name(region)
    except InvalidRegionError as exc:
        raise ConfigError(f"{source}: {exc}") from None
