"""Object bodies to and from S3, within a deadline, without copying them.

A body is sent from a :class:`memoryview` of the caller's bytes, read in small
pieces as the socket takes them, so writing an object costs next to no memory
beyond the object itself. Objects of :data:`MULTIPART_THRESHOLD` or more go as
a multipart upload whose parts are slices of that view, a few at a time; a
failed or timed-out upload is aborted, so no parts stay behind.

A read must finish, body included, within its deadline plus one second per MB
of ``Content-Length``: a server that trickles the body cannot hold the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
from collections.abc import Awaitable
from typing import Any, TypeVar

from ..errors import DeadlineError
from ._s3fs import call

T = TypeVar("T")

#: Part size of a multipart upload; S3 wants at least 5 MiB and at most 10,000 parts.
PART_SIZE = 16 * 2**20
MAX_PARTS = 10_000
#: Objects this large or larger go as a multipart upload.
MULTIPART_THRESHOLD = 2 * PART_SIZE
#: Bodies smaller than this are sent from the bytes themselves, not streamed from a view.
SMALL_BODY = 2**20
#: Parts sent at once.
PARTS_IN_FLIGHT = 4
#: Time allowed to abort a failed multipart upload.
ABORT_SECONDS = 10.0


async def within(work: Awaitable[T], seconds: float, shown: float | None = None) -> T:
    """``await work``, or :class:`DeadlineError` after ``seconds``.

    ``shown`` is the deadline the message names, when ``seconds`` is what is
    left of it.
    """
    try:
        return await asyncio.wait_for(work, max(seconds, 0.001))
    except asyncio.TimeoutError as exc:
        if isinstance(exc, DeadlineError):
            raise
        limit = seconds if shown is None else shown
        raise DeadlineError(errno.ETIMEDOUT, f"no answer within {limit:.0f} s") from None


class ViewReader(io.RawIOBase):
    """A seekable file over a :class:`memoryview`: bodies are read from it, not copied.

    botocore sizes it with ``len()`` and rewinds it with ``seek(0)`` before a retry.
    """

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self._view = view
        self._position = 0

    def __len__(self) -> int:
        return len(self._view)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}
        self._position = max(0, base[whence] + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        piece = self._view[self._position : self._position + len(buffer)]
        buffer[: len(piece)] = piece
        self._position += len(piece)
        return len(piece)


async def put_object(
    fs: Any, bucket: str, key: str, data: bytes, seconds: float, **params: Any
) -> None:
    """Write ``data`` as one object, whole or not at all, within ``seconds``.

    ``params`` are PutObject's (``ContentType``, ``IfNoneMatch``); a multipart
    upload takes ``IfNoneMatch`` when it completes.
    """
    view = memoryview(data).cast("B")
    if len(view) < MULTIPART_THRESHOLD:
        # A small body goes as it is: read from a file object, it would cost
        # aiohttp a trip to a worker thread per piece (0.1 ms of 2 per request).
        body = bytes(data) if len(view) < SMALL_BODY else ViewReader(view)
        work = call(fs, "put_object", Bucket=bucket, Key=key, Body=body, **params)
        await within(work, seconds)
        return
    upload: dict[str, Any] = {}
    try:
        await within(_multipart(fs, bucket, key, view, upload, **params), seconds)
    except BaseException:
        if "UploadId" in upload:
            # Best effort: a bucket lifecycle rule removes what an abort cannot.
            abort = call(fs, "abort_multipart_upload", Bucket=bucket, Key=key, **upload)
            with contextlib.suppress(Exception):
                await within(abort, ABORT_SECONDS)
        raise


async def _multipart(
    fs: Any, bucket: str, key: str, view: memoryview, upload: dict[str, Any], **params: Any
) -> None:
    complete = {"IfNoneMatch": params.pop("IfNoneMatch")} if "IfNoneMatch" in params else {}
    created = await call(fs, "create_multipart_upload", Bucket=bucket, Key=key, **params)
    upload["UploadId"] = created["UploadId"]
    size = max(PART_SIZE, -(-len(view) // MAX_PARTS))
    slots = asyncio.Semaphore(PARTS_IN_FLIGHT)

    async def send(number: int, start: int) -> dict[str, Any]:
        async with slots:
            body = ViewReader(view[start : start + size])
            sent = await call(
                fs, "upload_part", Bucket=bucket, Key=key, PartNumber=number, Body=body, **upload
            )
        return {"PartNumber": number, "ETag": sent["ETag"]}

    sends = [
        asyncio.ensure_future(send(n, start))
        for n, start in enumerate(range(0, len(view), size), 1)
    ]
    try:
        parts = await asyncio.gather(*sends)
    finally:
        # One part failed or time ran out: stop the others before the upload is aborted.
        for task in sends:
            task.cancel()
        await asyncio.gather(*sends, return_exceptions=True)
    await call(
        fs,
        "complete_multipart_upload",
        Bucket=bucket,
        Key=key,
        MultipartUpload={"Parts": list(parts)},
        **upload,
        **complete,
    )


async def get_object(fs: Any, bucket: str, key: str, seconds: float, per_byte: float) -> bytes:
    """The bytes of one object, read whole within ``seconds`` plus ``per_byte`` per byte."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await within(call(fs, "get_object", Bucket=bucket, Key=key), seconds)
    body = response["Body"]
    try:
        budget = seconds + int(response.get("ContentLength") or 0) * per_byte
        data: bytes = await within(body.read(), budget - (loop.time() - started), budget)
    finally:
        body.close()
    return data
