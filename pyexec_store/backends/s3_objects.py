"""Listing, deleting and checking objects on S3, with exact request counts.

s3fs's own calls do more than they say: ``_find`` sends a HEAD after an empty
listing, and ``_rm`` ignores the per-key errors DeleteObjects answers with (a
"deleted" key that is still there). These functions send exactly the requests
they name, each within a deadline, and report every failure.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
from typing import Any

from ._s3fs import call, error_code
from .s3_transfer import within

#: Keys per DeleteObjects request (the S3 limit) and such requests at once.
DELETE_BATCH = 1000
DELETES_IN_FLIGHT = 4
#: How a server refuses a body whose checksum is wrong, or checksum headers it does not take.
CHECKSUM_REFUSALS = frozenset(
    {
        "BadDigest",
        "InvalidDigest",
        "XAmzContentChecksumMismatch",
        "XAmzContentSHA256Mismatch",
        "InvalidArgument",
        "InvalidRequest",
        "NotImplemented",
    }
)


async def list_objects(
    fs: Any, bucket: str, prefix: str, seconds: float
) -> dict[str, tuple[int, float]]:
    """Every object whose key starts with ``prefix``: key -> (size, last modified).

    One ListObjectsV2 request per 1000 keys, each within ``seconds``.
    """
    found: dict[str, tuple[int, float]] = {}
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = await within(call(fs, "list_objects_v2", **params), seconds)
        for item in page.get("Contents") or []:
            found[item["Key"]] = (int(item["Size"]), item["LastModified"].timestamp())
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return found
        params["ContinuationToken"] = token


async def delete_objects(fs: Any, bucket: str, keys: list[str], seconds: float) -> None:
    """Delete ``keys``: DeleteObjects in batches of 1000, a few at once.

    A key the server reports it could not delete raises :class:`OSError`
    (:class:`PermissionError` for ``AccessDenied``) naming it; a missing key
    is not an error.
    """
    slots = asyncio.Semaphore(DELETES_IN_FLIGHT)

    async def batch(names: list[str]) -> None:
        objects = {"Objects": [{"Key": n} for n in names], "Quiet": True}
        async with slots:
            answer = await within(
                call(fs, "delete_objects", Bucket=bucket, Delete=objects), seconds
            )
        errors = [e for e in answer.get("Errors") or [] if e.get("Code") != "NoSuchKey"]
        if errors:
            first = errors[0]
            text = f"{len(errors)} not deleted, first {first.get('Key')}: {first.get('Code')}"
            kind = PermissionError if first.get("Code") == "AccessDenied" else OSError
            raise kind(errno.EACCES if kind is PermissionError else errno.EIO, text)

    batches = [keys[i : i + DELETE_BATCH] for i in range(0, len(keys), DELETE_BATCH)]
    await asyncio.gather(*(batch(b) for b in batches))


#: What a server does with the SHA-256 checksum sent with a body.
CHECKS, IGNORES, REFUSES = "checks", "ignores", "refuses"


async def checksum_support(fs: Any, bucket: str, key: str, seconds: float) -> str | None:
    """What the server does with a ``ChecksumSHA256`` sent with a body.

    One PUT to ``key`` with a wrong checksum (botocore retries a refusal, so up
    to three). Accepted: the server :data:`IGNORES` checksums, it only stores
    what it is told. Refused: one more PUT with the right checksum; accepted,
    the server :data:`CHECKS` them (a checksum it reports is one it verified);
    refused too, it :data:`REFUSES` checksum headers altogether (some older
    servers). The probe object is deleted again. ``None``: no answer either way.
    """
    body = b"pyexec-store checksum probe"

    async def put(digest: bytes) -> str | None:
        checksum = base64.b64encode(digest).decode()
        params = {"ChecksumAlgorithm": "SHA256", "ChecksumSHA256": checksum}
        try:
            await within(
                call(fs, "put_object", Bucket=bucket, Key=key, Body=body, **params), seconds
            )
        except Exception as exc:
            return "refused" if error_code(exc) in CHECKSUM_REFUSALS else None
        await within(call(fs, "delete_object", Bucket=bucket, Key=key), seconds)
        return "accepted"

    wrong = await put(hashlib.sha256(b"not the body").digest())
    if wrong != "refused":
        return IGNORES if wrong == "accepted" else None
    right = await put(hashlib.sha256(body).digest())
    return {"accepted": CHECKS, "refused": REFUSES}.get(right or "")


async def head_checksum(fs: Any, bucket: str, key: str, seconds: float) -> tuple[int, str | None]:
    """(size, the ``ChecksumSHA256`` the server keeps for the object, if any): one HEAD."""
    head = await within(
        call(fs, "head_object", Bucket=bucket, Key=key, ChecksumMode="ENABLED"), seconds
    )
    checksum = head.get("ChecksumSHA256")
    return int(head["ContentLength"]), checksum if isinstance(checksum, str) else None


async def read_digest(
    fs: Any, bucket: str, key: str, seconds: float, per_byte: float
) -> tuple[int, str]:
    """(size, hex SHA-256) of an object, read back in chunks: one GET, bounded memory.

    The whole body must arrive within ``seconds`` plus ``per_byte`` per byte
    of its ``Content-Length``.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await within(call(fs, "get_object", Bucket=bucket, Key=key), seconds)
    body = response["Body"]
    budget = seconds + int(response.get("ContentLength") or 0) * per_byte

    async def drain() -> tuple[int, str]:
        sha, size = hashlib.sha256(), 0
        while chunk := await body.read(1 << 20):
            sha.update(chunk)
            size += len(chunk)
        return size, sha.hexdigest()

    try:
        return await within(drain(), budget - (loop.time() - started), budget)
    finally:
        body.close()
