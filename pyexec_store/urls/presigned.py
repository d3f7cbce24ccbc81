"""``presigned`` strategy: SigV4 presigned GET links to S3 objects.

Signed locally with botocore (no request is sent). With ``public_endpoint_url``
the link names the host a browser can reach (a proxy, a Docker port mapping)
while the store's I/O keeps using ``endpoint_url``: SigV4 signs the host, so
the link must be signed for the host that will receive it.
"""

from __future__ import annotations

from typing import Any

from ..backends.base import Backend
from ..errors import ConfigError
from .base import UrlOptions, UrlStrategy


class PresignedUrls(UrlStrategy):
    """Time-limited GET links that need no credentials to open."""

    def __init__(self, backend: Backend, options: UrlOptions) -> None:
        if backend.protocol != "s3":
            raise ConfigError(
                f"presigned URLs need an S3 store, not {backend.protocol or 'this'} storage"
            )
        super().__init__(backend, options)
        # Built now, so a bad endpoint or credential setting fails at open_store
        # (creating a client sends no request).
        self._client = self._make_client()

    def _make_client(self) -> Any:
        import botocore.session
        from botocore.config import Config

        fs = self.backend.fs  # s3fs, with fsspec's env configuration already applied
        client_kwargs = dict(getattr(fs, "client_kwargs", None) or {})
        endpoint = (
            self.options.public_endpoint_url
            or getattr(fs, "endpoint_url", None)
            or client_kwargs.get("endpoint_url")
        )
        session = botocore.session.get_session()
        profile = self.backend.storage_options.get("profile")
        if profile:
            session.set_config_variable("profile", profile)
        return session.create_client(
            "s3",
            endpoint_url=endpoint,
            region_name=client_kwargs.get("region_name")
            or session.get_config_variable("region")  # AWS_DEFAULT_REGION, ~/.aws/config
            or "us-east-1",
            aws_access_key_id=getattr(fs, "key", None) or client_kwargs.get("aws_access_key_id"),
            aws_secret_access_key=getattr(fs, "secret", None)
            or client_kwargs.get("aws_secret_access_key"),
            aws_session_token=getattr(fs, "token", None) or client_kwargs.get("aws_session_token"),
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def url(self, rel: str, *, expires: int | None = None) -> str:
        from .base import check_expires

        bucket, _, key = self.backend.full_path(rel).partition("/")
        seconds = check_expires(expires) if expires is not None else self.options.expires
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=seconds
        )
        return url

    def folder_url(self, rel: str) -> str:
        # A prefix is not an object: there is nothing to sign, so name it.
        return self.backend.uri(rel)
