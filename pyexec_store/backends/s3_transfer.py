"""Object bodies to and from S3, within a deadline, without copying them.

A body is sent from a :class:`memoryview` of the caller's bytes, read in small
pieces as the socket takes them, so writing an object costs next to no memory
beyond the object itself. Objects of :data:`MULTIPART_THRESHOLD` or more go as
a multipart upload whose parts are slices of that view, a few at a time; a
failed or timed-out upload is aborted, so no parts stay behind.

A read must finish, body included, within its deadline plus one second per MB
of ``Content-Length``: a server that trickles the body cannot hold the caller.

:func:`put_stream` writes from a file instead (an archive copying from local
disk): read part by part, with a SHA-256 checksum on every request.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import hashlib
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import DeadlineError
from ._s3fs import call
from .base import Readable

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


#: Tries of one part of a streamed upload, each with botocore's own retries.
PART_ATTEMPTS = 3


@dataclass(frozen=True)
class Sent:
    """What a streamed upload sent, for checking the object afterwards."""

    size: int
    sha256: str
    """Hex SHA-256 of the whole object."""
    checksum: str
    """The ``ChecksumSHA256`` the server reports for the object: base64, with
    ``-N`` for a multipart upload of N parts (a checksum of the parts' checksums)."""


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _read_exactly(stream: Readable, size: int) -> bytes:
    """``size`` bytes of ``stream``, or :class:`EOFError` if it ends first."""
    pieces, left = [], size
    while left:
        piece = stream.read(left)
        if not piece:
            raise EOFError(f"the source ended {left} bytes early")
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces) if len(pieces) != 1 else pieces[0]


async def put_stream(
    fs: Any,
    bucket: str,
    key: str,
    stream: Readable,
    size: int,
    seconds: Callable[[int], float],
    checksums: bool = True,
    **params: Any,
) -> Sent:
    """Write ``size`` bytes of ``stream`` as one object, with SHA-256 checksums.

    The server checks every body against the SHA-256 sent with it (where it
    checks checksums). Below :data:`MULTIPART_THRESHOLD` it is one PUT; above,
    a multipart upload read from ``stream`` part by part, at most
    :data:`PARTS_IN_FLIGHT` parts in memory, each part tried
    :data:`PART_ATTEMPTS` times. Uploads of this key that an earlier, killed
    writer left open are aborted first; a failed upload is aborted.
    ``seconds(n)`` is the deadline of a request sending ``n`` bytes. Without
    ``checksums`` (a server that refuses them) no checksum is sent.
    """
    loop = asyncio.get_running_loop()
    if size < MULTIPART_THRESHOLD:
        data = await loop.run_in_executor(None, _read_exactly, stream, size)
        digest = hashlib.sha256(data).digest()
        if checksums:
            params = {**params, "ChecksumAlgorithm": "SHA256", "ChecksumSHA256": b64(digest)}
        work = call(
            fs, "put_object", Bucket=bucket, Key=key, Body=ViewReader(memoryview(data)), **params
        )
        await within(work, seconds(size))
        return Sent(size, digest.hex(), b64(digest))
    await abort_uploads(fs, bucket, key, seconds(0))
    upload: dict[str, Any] = {}
    try:
        return await _streamed(fs, bucket, key, stream, size, seconds, upload, checksums, **params)
    except BaseException:
        if "UploadId" in upload:
            abort = call(fs, "abort_multipart_upload", Bucket=bucket, Key=key, **upload)
            with contextlib.suppress(Exception):
                await within(abort, ABORT_SECONDS)
        raise


async def abort_uploads(fs: Any, bucket: str, key: str, seconds: float) -> int:
    """Abort the open multipart uploads of ``key`` (a killed writer's); how many.

    A server that cannot list uploads is left as it is.
    """
    try:
        found = await within(call(fs, "list_multipart_uploads", Bucket=bucket, Prefix=key), seconds)
    except (OSError, ValueError, NotImplementedError):
        return 0
    stale = [u["UploadId"] for u in found.get("Uploads") or [] if u.get("Key") == key]
    for upload_id in stale:
        abort = call(fs, "abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
        with contextlib.suppress(Exception):
            await within(abort, ABORT_SECONDS)
    return len(stale)


async def _streamed(
    fs: Any,
    bucket: str,
    key: str,
    stream: Readable,
    size: int,
    seconds: Callable[[int], float],
    upload: dict[str, Any],
    checksums: bool,
    **params: Any,
) -> Sent:
    loop = asyncio.get_running_loop()
    if checksums:
        params = {**params, "ChecksumAlgorithm": "SHA256"}
    create = call(fs, "create_multipart_upload", Bucket=bucket, Key=key, **params)
    upload["UploadId"] = (await within(create, seconds(0)))["UploadId"]
    part_size = max(PART_SIZE, -(-size // MAX_PARTS))
    whole = hashlib.sha256()
    slots = asyncio.Semaphore(PARTS_IN_FLIGHT)

    def read_part(length: int) -> tuple[bytes, bytes]:
        data = _read_exactly(stream, length)
        whole.update(data)  # parts are read in order, one at a time
        return data, hashlib.sha256(data).digest()

    async def send(number: int, data: bytes, digest: bytes) -> dict[str, Any]:
        try:
            for attempt in range(1, PART_ATTEMPTS + 1):
                checked = {"ChecksumSHA256": b64(digest)} if checksums else {}
                work = call(
                    fs,
                    "upload_part",
                    Bucket=bucket,
                    Key=key,
                    PartNumber=number,
                    Body=ViewReader(memoryview(data)),
                    **checked,
                    **upload,
                )
                try:
                    sent = await within(work, seconds(len(data)))
                    break
                except (PermissionError, FileNotFoundError, FileExistsError, ValueError):
                    raise  # refused, not lost: trying again cannot help
                except Exception:
                    if attempt == PART_ATTEMPTS:
                        raise
                    await asyncio.sleep(0.5 * attempt)
            return {"PartNumber": number, "ETag": sent["ETag"], **checked}
        finally:
            slots.release()

    sends: list[asyncio.Future[dict[str, Any]]] = []
    digests: list[bytes] = []
    try:
        for number, start in enumerate(range(0, size, part_size), 1):
            await slots.acquire()  # memory: the parts in flight, and the one being read
            failed = next((t for t in sends if t.done() and t.exception()), None)
            if failed is not None:
                slots.release()
                failed.result()  # raises: stop reading as soon as a part is lost
            try:
                data, digest = await loop.run_in_executor(
                    None, read_part, min(part_size, size - start)
                )
            except BaseException:
                slots.release()
                raise
            digests.append(digest)
            sends.append(asyncio.ensure_future(send(number, data, digest)))
        parts = await asyncio.gather(*sends)
    finally:
        for task in sends:
            task.cancel()
        await asyncio.gather(*sends, return_exceptions=True)
    complete = call(
        fs,
        "complete_multipart_upload",
        Bucket=bucket,
        Key=key,
        MultipartUpload={"Parts": list(parts)},
        **upload,
    )
    await within(complete, seconds(0))
    composite = b64(hashlib.sha256(b"".join(digests)).digest()) + f"-{len(digests)}"
    return Sent(size, whole.hexdigest(), composite)
