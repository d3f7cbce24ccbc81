"""S3 and MinIO backend (``s3://``), on s3fs.

The write path is one PUT per object: no directory markers, no HEAD, GET or
LIST before writing. A claim is a conditional PUT (``If-None-Match: *``); on a
server without conditional writes it falls back to a plain PUT, which the
random execution id keeps safe. Several objects written together go out
concurrently on s3fs's event loop.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Sequence
from typing import Any, ClassVar

from fsspec.asyn import sync

from ..errors import MissingDependencyError, StorageError
from .base import Backend, WriteItem

#: Fail fast on a dead endpoint: seconds, not botocore's default minute.
DEFAULT_CONFIG = {
    "connect_timeout": 3,
    "read_timeout": 60,
    "retries": {"max_attempts": 3, "mode": "standard"},
}


class S3Backend(Backend):
    """Executions in an S3 bucket (AWS, MinIO, or any S3-compatible server)."""

    protocol: ClassVar[str] = "s3"
    default_url_strategy: ClassVar[str] = "presigned"

    def __init__(self, url: str, **storage_options: Any) -> None:
        try:
            import s3fs  # noqa: F401
        except ImportError:
            raise MissingDependencyError(
                "the s3 backend needs s3fs: pip install 'pyexec-store[s3]'"
            ) from None
        config = dict(DEFAULT_CONFIG)
        config.update(storage_options.pop("config_kwargs", None) or {})
        storage_options["config_kwargs"] = config
        super().__init__(url, **storage_options)
        self._conditional_put = True

    def endpoint(self) -> str:
        client_kwargs = self.storage_options.get("client_kwargs") or {}
        return str(
            self.storage_options.get("endpoint_url")
            or client_kwargs.get("endpoint_url")
            or getattr(self.fs, "endpoint_url", None)
            or "AWS S3"
        )

    async def _put(self, item: WriteItem) -> None:
        path = self.full_path(item.path)
        extra = {"ContentType": item.content_type} if item.content_type else {}
        with self.errors("write", item.path):
            if item.exclusive and self._conditional_put:
                try:
                    await self.fs._pipe_file(path, item.data, mode="create", **extra)
                    return
                except FileExistsError:
                    raise
                except OSError as exc:
                    if exc.errno != errno.ENOSYS:  # 501 NotImplemented: no conditional writes
                        raise
                    self._conditional_put = False
            await self.fs._pipe_file(path, item.data, **extra)

    async def _get(self, rel: str) -> bytes:
        with self.errors("read", rel):
            # One GET: s3fs would first HEAD the object to size a concurrent download.
            data: bytes = await self.fs._cat_file(self.full_path(rel), max_concurrency=1)
            return data

    def read(self, rel: str) -> bytes:
        data: bytes = sync(self.fs.loop, self._get, rel)
        return data

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

    def write(
        self, rel: str, data: bytes, *, exclusive: bool = False, content_type: str | None = None
    ) -> None:
        self.write_many([WriteItem(rel, data, exclusive, content_type)])

    def write_many(self, items: Sequence[WriteItem]) -> None:
        async def put_all() -> list[BaseException | None]:
            return await asyncio.gather(*(self._put(i) for i in items), return_exceptions=True)

        for item in items:
            self.full_path(item.path)  # refuse a bad path before anything is sent
        if not items:
            return
        with self.errors("write", items[0].path):
            outcomes = sync(self.fs.loop, put_all)
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            first = failures[0]
            raise (
                first
                if isinstance(first, StorageError)
                else self.translate(first, "write", items[0].path)
            )
