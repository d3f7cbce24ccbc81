"""S3 and MinIO backend (``s3://``), on s3fs.

The write path is one PUT per object (objects of 32 MiB or more go as a
multipart upload, see :mod:`.s3_transfer`): no directory markers, no HEAD, GET
or LIST before writing. A claim is a conditional PUT (``If-None-Match: *``); on
a server without conditional writes it falls back to a plain PUT, which the
random execution id keeps safe. Several objects written together go out
concurrently on s3fs's event loop.

Every setting is checked when the store is opened (:mod:`.s3_options`), before
any request. Every request has a deadline, so a dead or silent endpoint fails
in seconds: botocore retries transient faults (5xx, throttling, dropped
connections) with backoff, and each object must be sent or read, retries and
body included, within a time that grows with its size.
"""

from __future__ import annotations

import asyncio
import errno
import os
import threading
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from fsspec.asyn import sync

from ..errors import MissingDependencyError, StorageError
from ._s3fs import builtin_error, error_code
from .base import Digest, FileStat, Readable, WriteItem
from .generic import FsspecBackend, secret_values
from .s3_objects import (
    CHECKS,
    REFUSES,
    checksum_support,
    delete_objects,
    head_checksum,
    list_objects,
    read_digest,
)
from .s3_options import (
    DEADLINE_BYTES_PER_SECOND,
    DEADLINE_SECONDS,
    DEFAULT_CONFIG,
    check_deadline,
    check_options,
    check_url,
    configured_options,
    endpoint_url,
    option_names,
    session_region,
)
from .s3_transfer import Sent, get_object, put_object, put_stream, within

T = TypeVar("T")

#: Environment variables botocore and fsspec take secrets from.
SECRET_VARIABLES = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "FSSPEC_S3_SECRET",
    "FSSPEC_S3_TOKEN",
)


@dataclass(frozen=True)
class S3Signing:
    """What a presigned link is signed with; secrets never appear in its repr."""

    endpoint_url: str | None
    region: str
    key: str | None = None
    secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    profile: str | None = None


class S3Backend(FsspecBackend):
    """Executions in an S3 bucket (AWS, MinIO, or any S3-compatible server).

    Parameters
    ----------
    url
        ``s3://bucket`` or ``s3://bucket/prefix``.
    deadline
        Seconds one request may take, retries and body included, plus one
        second per MB sent or received (default 20).
    **storage_options
        s3fs options: ``endpoint_url``, ``key``, ``secret``, ``config_kwargs``, …

    Raises
    ------
    ConfigError, ConfigTypeError
        For an unknown option, ``config_kwargs`` or ``client_kwargs`` key, a URL
        without a bucket, an endpoint that is not ``http(s)://host[:port]``, a
        profile that does not exist or a malformed region. No request is sent.
    MissingDependencyError
        Without s3fs.
    """

    protocol: ClassVar[str] = "s3"
    default_url_strategy: ClassVar[str] = "presigned"

    @classmethod
    def accepts(cls, option: str) -> bool:
        try:
            return option in option_names()
        except ImportError:
            return option == "deadline"

    def __init__(self, url: str, *, deadline: float = DEADLINE_SECONDS, **storage_options: Any):
        self.deadline = check_deadline(deadline)
        try:
            import s3fs  # noqa: F401
        except ImportError:
            raise MissingDependencyError(
                "the s3 backend needs s3fs: pip install 'pyexec-store[s3]'"
            ) from None
        check_url(url)
        configured = configured_options()
        check_options(storage_options, configured)
        settings = {**configured, **storage_options}
        self.endpoint_url = endpoint_url(settings)
        """The endpoint I/O goes to (the one place it is chosen); ``None``: AWS."""
        self.region = session_region(settings)
        # Our timeouts, under fsspec's configured ones, under the caller's.
        config = {**DEFAULT_CONFIG, **(configured.get("config_kwargs") or {})}
        storage_options["config_kwargs"] = {
            **config,
            **(storage_options.get("config_kwargs") or {}),
        }
        super().__init__(url, **storage_options)
        self._conditional_put = True
        # Streamed writes: what the server does with checksums (None: not asked
        # yet), and what was sent for each key, until digests() checks it.
        self._checksums: str | None = None
        self._probe_lock = threading.Lock()
        self._sent: dict[str, Sent] = {}

    @property
    def conditional_writes(self) -> bool:
        """False once the server answered 501 to a conditional PUT: claims are plain PUTs."""
        return self._conditional_put

    def secrets(self) -> list[str]:
        """Secrets given as options, through fsspec's configuration or the environment."""
        fs = self.fs
        extra = getattr(fs, "s3_additional_kwargs", None) or {}
        found: list[object] = [
            *secret_values(self.storage_options),
            *secret_values(fs.storage_options),  # with fsspec's configuration
            *(os.environ.get(name) for name in SECRET_VARIABLES),
            getattr(fs, "secret", None),  # as s3fs resolved them
            getattr(fs, "token", None),
            extra.get("SSECustomerKey"),
        ]
        return [value for value in found if isinstance(value, str) and value]

    def endpoint(self) -> str:
        return self.endpoint_url or "AWS S3"

    def translate(self, exc: BaseException, operation: str, key: str) -> StorageError:
        return super().translate(builtin_error(exc), operation, key)

    def s3_object(self, key: str) -> tuple[str, str]:
        """(bucket, object key) of a store key."""
        bucket, _, name = self.full_path(key).partition("/")
        return bucket, name

    def s3_signing(self) -> S3Signing:
        """Endpoint, region and credentials to sign links with (no request is sent)."""
        fs = self.fs  # s3fs, with fsspec's environment configuration applied
        client_kwargs = dict(getattr(fs, "client_kwargs", None) or {})
        return S3Signing(
            endpoint_url=self.endpoint_url,
            region=self.region,
            key=getattr(fs, "key", None) or client_kwargs.get("aws_access_key_id"),
            secret=getattr(fs, "secret", None) or client_kwargs.get("aws_secret_access_key"),
            token=getattr(fs, "token", None) or client_kwargs.get("aws_session_token"),
            profile=fs.storage_options.get("profile"),
        )

    def _seconds(self, size: int = 0) -> float:
        """The deadline of a request moving ``size`` bytes."""
        return self.deadline + size / DEADLINE_BYTES_PER_SECOND

    async def _deadline(self, work: Awaitable[T]) -> T:
        return await within(work, self._seconds())

    # -- the contract -------------------------------------------------------
    async def _put(self, item: WriteItem) -> StorageError | None:
        bucket, key = self.s3_object(item.path)
        params = {"ContentType": item.content_type} if item.content_type else {}
        seconds = self._seconds(len(item.data))
        try:
            if item.exclusive and self._conditional_put:
                try:
                    await put_object(
                        self.fs, bucket, key, item.data, seconds, IfNoneMatch="*", **params
                    )
                    return None
                except FileExistsError:
                    raise
                except OSError as exc:
                    if exc.errno != errno.ENOSYS:  # 501 NotImplemented: no conditional writes
                        raise
                    self._conditional_put = False
            await put_object(self.fs, bucket, key, item.data, seconds, **params)
        except Exception as exc:
            return self.translate(exc, "write", item.path)
        return None

    def write_many(self, items: Sequence[WriteItem]) -> list[StorageError | None]:
        for item in items:
            self.full_path(item.path)  # refuse a bad path before anything is sent

        async def put_all() -> list[StorageError | None]:
            return list(await asyncio.gather(*(self._put(i) for i in items)))

        return sync(self.fs.loop, put_all) if items else []

    async def _get(self, rel: str) -> bytes:
        bucket, key = self.s3_object(rel)
        with self.errors("read", rel):
            # One GET (s3fs's cat_file would first HEAD to size a concurrent download).
            per_byte = 1 / DEADLINE_BYTES_PER_SECOND
            return await get_object(self.fs, bucket, key, self.deadline, per_byte)

    def read_many(self, rels: Sequence[str]) -> dict[str, bytes | StorageError]:
        async def get_all() -> list[bytes | BaseException]:
            return await asyncio.gather(*(self._get(r) for r in rels), return_exceptions=True)

        for rel in rels:
            self.full_path(rel)
        outcomes = sync(self.fs.loop, get_all) if rels else []
        return {
            rel: (o if isinstance(o, (bytes, StorageError)) else self.translate(o, "read", rel))
            for rel, o in zip(rels, outcomes, strict=True)
        }

    def delete(self, keys: Sequence[str]) -> None:
        """Remove objects: DeleteObjects in batches of 1000; a key the server
        did not delete is an error, never silently left behind."""
        paths = [self.s3_object(key) for key in keys]
        if not paths:
            return
        bucket = paths[0][0]

        async def rm() -> None:
            await delete_objects(self.fs, bucket, [name for _, name in paths], self._seconds())

        with self.errors("delete", keys[0]):
            sync(self.fs.loop, rm)

    def find(self, rel: str) -> list[str]:
        return list(self.find_stats(rel))

    def find_sizes(self, rel: str) -> dict[str, int]:
        return {name: found.size for name, found in self.find_stats(rel).items()}

    def find_stats(self, rel: str) -> dict[str, FileStat]:
        """Every object below ``rel``: one ListObjectsV2 request per 1000 keys."""
        bucket, prefix = self.s3_object(rel)
        prefix = f"{prefix}/" if prefix else ""

        async def find() -> dict[str, tuple[int, float]]:
            return await list_objects(self.fs, bucket, prefix, self._seconds())

        with self.errors("list", rel):
            found = sync(self.fs.loop, find)
        return {
            key[len(prefix) :]: FileStat(size, mtime)
            for key, (size, mtime) in sorted(found.items())
            if len(key) > len(prefix) and not key.endswith("/")  # no folder markers
        }

    # -- archiving: streamed writes with checksums, and checking them -------
    def checksum_support(self) -> str | None:
        """What the server does with a SHA-256 sent with a body: ``"checks"`` it,
        ``"ignores"`` it, ``"refuses"`` checksum headers; ``None`` when it could
        not be asked. Asked once, with a probe object at the root."""
        with self._probe_lock:
            if self._checksums is None:
                bucket, name = self.s3_object(f".pyexec-store-probe-{uuid.uuid4().hex[:12]}")

                async def probe() -> str | None:
                    return await checksum_support(self.fs, bucket, name, self._seconds())

                with self.errors("probe checksums at", ""):
                    self._checksums = sync(self.fs.loop, probe)
            return self._checksums

    def write_stream(
        self, key: str, stream: Readable, size: int, *, content_type: str | None = None
    ) -> None:
        """One PUT, or a multipart upload read part by part; SHA-256 checksums on every
        body, unless the server refuses checksum headers."""
        bucket, name = self.s3_object(key)
        params = {"ContentType": content_type} if content_type else {}
        checksums = self.checksum_support() != REFUSES

        async def put() -> Sent:
            return await put_stream(
                self.fs, bucket, name, stream, size, self._seconds, checksums, **params
            )

        with self.errors("write", key):
            self._sent[key] = sync(self.fs.loop, put)

    def digests(self, keys: Sequence[str]) -> dict[str, Digest | StorageError]:
        """Objects this backend just sent with :meth:`write_stream` are checked by
        the checksum the server keeps (one HEAD), where the server checks
        checksums; every other object is read back and hashed."""
        slots = asyncio.Semaphore(16)
        trusted = self._checksums == CHECKS

        async def one(key: str) -> Digest:
            bucket, name = self.s3_object(key)
            sent = self._sent.pop(key, None)
            async with slots:
                if sent is not None and trusted:
                    size, checksum = await head_checksum(self.fs, bucket, name, self._seconds())
                    if (size, checksum) == (sent.size, sent.checksum):
                        return Digest(size, sent.sha256, "server checksum")
                per_byte = 1 / DEADLINE_BYTES_PER_SECOND
                return Digest(*await read_digest(self.fs, bucket, name, self.deadline, per_byte))

        async def all_of() -> list[Digest | BaseException]:
            return await asyncio.gather(*(one(k) for k in keys), return_exceptions=True)

        for key in keys:
            self.full_path(key)
        outcomes = sync(self.fs.loop, all_of) if keys else []
        return {
            key: o if isinstance(o, (Digest, StorageError)) else self.translate(o, "check", key)
            for key, o in zip(keys, outcomes, strict=True)
        }

    def listdir(self, rel: str) -> list[str]:
        path = self.full_path(rel)

        async def ls() -> list[str]:
            try:
                entries = await self._deadline(self.fs._ls(path, detail=False, refresh=True))
            except FileNotFoundError as exc:
                # A missing prefix is an empty folder; a missing bucket is an error.
                if error_code(exc) == "NoSuchBucket":
                    raise
                return []
            return [str(e) for e in entries]

        with self.errors("list", rel):
            entries = sync(self.fs.loop, ls)
        return sorted({e.rstrip("/").rsplit("/", 1)[-1] for e in entries} - {""})
