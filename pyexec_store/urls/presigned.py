"""``presigned`` strategy: SigV4 presigned GET links to S3 objects.

Signed locally with botocore (no request is sent). With ``public_endpoint_url``
the link names the host a browser can reach (a proxy, a Docker port mapping)
while the store's I/O keeps using ``endpoint_url``: SigV4 signs the host, so
the link must be signed for the host that will receive it.

Any backend that can name an object and its signing settings can have these
links: it provides ``s3_object(key)`` and ``s3_signing()`` (see :class:`SignsS3`).
"""

from __future__ import annotations

import mimetypes
import re
from typing import Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import quote

from ..backends.base import Backend
from ..errors import ConfigError
from .base import UrlStrategy, check_expires, check_http_url

#: Content types of the files an execution holds; others by :mod:`mimetypes`.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".ipynb": "application/x-ipynb+json",
    ".json": "application/json",
    ".png": "image/png",
}
_UNSAFE_IN_QUOTES = re.compile(r'[^\x20-\x7e]|["\\]')


def content_type(filename: str) -> str:
    """The content type a link serves ``filename`` as, by its extension."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or "application/octet-stream"


def content_disposition(filename: str) -> str:
    """``inline; filename="..."`` (RFC 6266), with the UTF-8 name too when it is not ASCII."""
    plain = _UNSAFE_IN_QUOTES.sub("_", filename)
    value = f'inline; filename="{plain}"'
    if plain != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


@runtime_checkable
class SignsS3(Protocol):
    """A backend whose objects can be reached by presigned S3 links."""

    def s3_object(self, key: str) -> tuple[str, str]:
        """(bucket, object key) of a store key."""

    def s3_signing(self) -> Any:
        """An :class:`~pyexec_store.backends.s3.S3Signing`."""


class PresignedUrls(UrlStrategy):
    """Time-limited GET links that need no credentials to open."""

    options: ClassVar[dict[str, Any]] = {"url_expires": 3600, "public_endpoint_url": None}

    def __init__(self, backend: Backend, **options: Any) -> None:
        super().__init__(backend, **options)
        if not isinstance(backend, SignsS3):
            raise ConfigError(
                f"presigned URLs need an S3 store, not {backend.protocol or 'this'} storage"
            )
        self.signer: SignsS3 = backend
        self.expires: int = self.settings["url_expires"]
        public = self.settings["public_endpoint_url"]
        # Built now, so a bad endpoint or credential setting fails at open_store
        # (creating a client sends no request).
        self._client = self._make_client(backend.s3_signing(), public)

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        settings = super().check_options(options)
        check_expires(settings["url_expires"])
        if settings["public_endpoint_url"] is not None:
            check_http_url("public_endpoint_url", settings["public_endpoint_url"])
        return settings

    @staticmethod
    def _make_client(signing: Any, public_endpoint_url: str | None) -> Any:
        import botocore.session
        from botocore.config import Config

        session = botocore.session.get_session()
        if signing.profile:
            session.set_config_variable("profile", signing.profile)
        return session.create_client(
            "s3",
            endpoint_url=public_endpoint_url or signing.endpoint_url,
            region_name=signing.region,
            aws_access_key_id=signing.key,
            aws_secret_access_key=signing.secret,
            aws_session_token=signing.token,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def url(self, key: str, *, expires: int | None = None) -> str:
        bucket, name = self.signer.s3_object(key)
        seconds = check_expires(expires) if expires is not None else self.expires
        filename = key.rsplit("/", 1)[-1]
        params = {
            "Bucket": bucket,
            "Key": name,
            # Shown in the browser (a page, a figure), and saved under its own name.
            "ResponseContentDisposition": content_disposition(filename),
            "ResponseContentType": content_type(filename),
        }
        url: str = self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=seconds
        )
        return url

    def folder_url(self, key: str) -> str:
        # A prefix is not an object: there is nothing to sign, so name it.
        return self.backend.uri(key)
