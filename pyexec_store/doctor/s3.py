"""Preflight checks of an S3 store (AWS, MinIO, SeaweedFS, …), through the store's own client.

In order, each needing the ones before: the endpoint answers; the clocks
agree; the credentials are accepted; the bucket exists, in the region the
requests are signed for, reached with an addressing style that works; then a
probe object is written (with the checksums botocore sends by default, and
``If-None-Match``), read back, fetched through presigned links, and deleted.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlsplit

from fsspec.asyn import sync

from ..backends._s3fs import call, error_code
from ..backends.s3_options import sends_default_checksums
from ..backends.s3_transfer import within
from ..errors import StorageError, StorageExistsError, StorageNotFoundError
from ..store import ArtifactStore
from ..urls.presigned import PresignedUrls
from .checks import Check, failed, passed, skipped, warned
from .network import clock, reach

PROBE_PREFIX = ".pyexec-store-doctor"
#: Seconds a doctor's request may take.
SECONDS = 10.0
ACCESS = ["credentials", "bucket", "region", "addressing"]
PROBE = ["write", "conditional writes", "read", "checksums", "presigned link", "delete"]
#: How servers that do not take botocore's default checksums refuse them.
_CHECKSUM_WORDS = ("checksum", "trailer", "chunked", "content-sha256", "digest", "streaming")
CHECKSUM_HINT = (
    "botocore 1.36 and later send CRC32 checksums by default, which older S3 servers "
    'refuse or store wrongly: -o \'config_kwargs={"request_checksum_calculation": '
    '"when_required", "response_checksum_validation": "when_required"}\' (or '
    "AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION="
    "when_required), or upgrade the server"
)


def s3_checks(store: ArtifactStore) -> list[Check]:
    """The whole S3 checklist (see the module docstring)."""
    backend: Any = store.backend
    endpoint = backend.endpoint_url or f"https://s3.{backend.region}.amazonaws.com"
    reached, answer = reach(endpoint)
    if not reached.ok:
        return [reached, *skipped(["clock", *ACCESS, *PROBE], "the endpoint cannot be reached")]
    checks = [reached, clock(answer), *access_checks(backend)]
    if not all(c.ok for c in checks):
        return checks + skipped(PROBE, "the bucket cannot be used yet")
    return checks + probe_checks(store)


def _listing(backend: Any) -> tuple[BaseException | None, dict[str, Any], str]:
    """One ListObjectsV2 through the store's client: (error, answer, the URL it went to)."""
    fs = backend.fs
    bucket, prefix = backend.s3_object("")
    urls: list[str] = []

    async def go() -> tuple[BaseException | None, dict[str, Any]]:
        await fs.set_session()
        client = await fs.get_s3(bucket)
        events, tag = client.meta.events, f"doctor-{uuid.uuid4().hex}"
        events.register("before-send.s3", lambda request, **kw: urls.append(request.url), tag)
        try:
            listing = call(fs, "list_objects_v2", Bucket=bucket, Prefix=prefix, MaxKeys=1)
            answer = await within(listing, SECONDS)
            head = await within(call(fs, "head_bucket", Bucket=bucket), SECONDS)
            return None, {**answer, "head": head}
        except Exception as exc:
            return exc, {}
        finally:
            events.unregister("before-send.s3", unique_id=tag)

    error, answer = sync(fs.loop, go)
    return error, answer, urls[0] if urls else ""


#: Errors of the listing that say the credentials are refused: (what, how to fix).
REFUSED = {
    "InvalidAccessKeyId": (
        "{endpoint} does not know the {who}",
        "check key / AWS_ACCESS_KEY_ID (MinIO: a key of `mc admin user`, or the root user)",
    ),
    "SignatureDoesNotMatch": (
        "{endpoint} refuses the signature: the secret does not match the {who}",
        "check secret / AWS_SECRET_ACCESS_KEY; a proxy must not change the Host header",
    ),
}
WRONG_REGION = ("AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraint")
PATH_STYLE = '-o \'config_kwargs={"s3": {"addressing_style": "path"}}\''


def access_checks(backend: Any) -> list[Check]:
    """Credentials, bucket, region and addressing style, from one listing (and a HEAD)."""
    bucket, _ = backend.s3_object("")
    endpoint = backend.endpoint()
    key_id = backend.s3_signing().key
    who = f"access key id {key_id}"
    if not key_id:
        found = os.environ.get("AWS_ACCESS_KEY_ID")
        who = (
            f"access key id {found} (AWS_ACCESS_KEY_ID)" if found else "credentials botocore found"
        )
    error, answer, url = _listing(backend)
    host = urlsplit(url).hostname or ""
    virtual = host.startswith(f"{bucket}.")
    if error is None:
        headers = answer["head"].get("ResponseMetadata", {}).get("HTTPHeaders", {})
        style = f"virtual-hosted ({host})" if virtual else "path-style (/bucket/key)"
        return [
            passed("credentials", f"{who} accepted by {endpoint}"),
            passed("bucket", f"{bucket} exists and can be listed"),
            _region(backend.region, headers.get("x-amz-bucket-region")),
            passed("addressing", f"{style} requests work"),
        ]
    code = error_code(error)
    text = str(backend.translate(error, "list", ""))  # its words, without a secret
    creds = passed("credentials", f"{who}: not refused by {endpoint}")
    if code in REFUSED:
        what, hint = REFUSED[code]
        bad = failed("credentials", what.format(endpoint=endpoint, who=who), hint)
        return [bad, *skipped(ACCESS[1:], "the credentials are refused")]
    if isinstance(error, PermissionError) and not code and "credentials" in text.lower():
        hint = (
            "pass key= and secret=, set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile"
        )
        bad = failed("credentials", "no credentials found", hint)
        return [bad, *skipped(ACCESS[1:], "no credentials")]
    if code == "NoSuchBucket":
        hint = (
            f"create it: mc mb ALIAS/{bucket}, aws s3 mb s3://{bucket}, weed shell s3.bucket.create"
        )
        bad = failed("bucket", f"bucket {bucket} does not exist at {endpoint}", hint)
        return [creds, bad, *skipped(ACCESS[2:], "no bucket")]
    if code and code.startswith(WRONG_REGION):
        right = _region_in(error)
        hint = f"client_kwargs={{'region_name': '{right}'}}, or AWS_DEFAULT_REGION={right}"
        bad = failed("region", f"signed for {backend.region}, the bucket is in {right}", hint)
        return [creds, passed("bucket", f"{bucket} exists"), bad, *skipped(ACCESS[3:], "")]
    if code == "AccessDenied":
        what = f"the {who} may not list {bucket}: ls, archive and prune need s3:ListBucket"
        hint = "grant s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on it"
        return [creds, failed("bucket", what, hint), *skipped(ACCESS[2:], "access denied")]
    if virtual and not code:
        what = f"virtual-hosted requests go to {host}, which cannot be reached: {text}"
        bad = failed("addressing", what, f"use path-style requests: {PATH_STYLE}")
        return [Check("credentials", "skip", f"{host} cannot be reached"), bad]
    bad = failed("credentials", f"listing {bucket} at {endpoint} failed: {text}")
    return [bad, *skipped(ACCESS[1:], "")]


def _region_in(error: BaseException) -> str:
    for candidate in (error, error.__cause__):
        response = getattr(candidate, "response", None)
        if isinstance(response, dict):
            found = response.get("Error", {}).get("Region") or response.get(
                "ResponseMetadata", {}
            ).get("HTTPHeaders", {}).get("x-amz-bucket-region")
            if found:
                return str(found)
    return "another region"


def _region(signed_for: str, bucket_region: str | None) -> Check:
    if bucket_region is None:
        return passed(
            "region", f"signed for {signed_for}; the server names no region and accepts it"
        )
    if bucket_region != signed_for:
        hint = f"set client_kwargs={{'region_name': '{bucket_region}'}}"
        return warned("region", f"signed for {signed_for}, the bucket says {bucket_region}", hint)
    return passed("region", f"signed for {signed_for}, the bucket's region")


def _checksum_trouble(error: BaseException) -> bool:
    return any(word in str(error).lower() for word in _CHECKSUM_WORDS)


def probe_checks(store: ArtifactStore) -> list[Check]:
    """Write, claim, read, fetch and delete a probe object, through the store itself."""
    backend: Any = store.backend
    key = f"{PROBE_PREFIX}/{uuid.uuid4().hex}.txt"
    data = f"pyexec-store doctor probe {uuid.uuid4().hex}\n".encode()
    where = backend.uri(key)
    try:
        backend.write(key, data, exclusive=True, content_type="text/plain")
    except StorageError as exc:
        if _checksum_trouble(exc):
            bad = failed(
                "checksums", f"the server refused the probe's checksums: {exc}", CHECKSUM_HINT
            )
            return [
                bad,
                *skipped([c for c in PROBE if c != "checksums"], "nothing could be written"),
            ]
        bad = failed("write", f"could not write {where}: {exc}", "the key needs s3:PutObject")
        return [bad, *skipped(PROBE[1:], "nothing could be written")]
    sent = "with botocore's checksums" if sends_default_checksums() else "no checksum sent"
    checks = [passed("write", f"wrote {where} ({len(data)} bytes, {sent})")]
    try:
        checks.append(_conditional(backend, key))
        expected = backend.read(key) if checks[-1].outcome == "warn" else data
        checks += _read(backend, key, expected)
        checks += presigned_checks(store, key, expected)
    finally:
        checks.append(_delete(backend, key))
    return checks


def _conditional(backend: Any, key: str) -> Check:
    if not backend.conditional_writes:
        return warned(
            "conditional writes",
            "not supported (501 to If-None-Match): claims use plain PUTs; random execution ids "
            "keep executions apart, but two processes resuming one execution may overwrite files",
            "servers with conditional writes (AWS, MinIO since 2024-11, SeaweedFS) keep claims "
            "exclusive",
        )
    try:
        backend.write(key, b"a second writer\n", exclusive=True)
    except StorageExistsError:
        return passed("conditional writes", "If-None-Match: * honoured: claims are exclusive")
    except StorageError as exc:
        return failed("conditional writes", f"a second exclusive write failed oddly: {exc}")
    return warned(
        "conditional writes",
        "the server ignores If-None-Match: * (an exclusive write replaced the object)",
        "claims rely on random execution ids; use a server with conditional writes",
    )


def _read(backend: Any, key: str, expected: bytes) -> list[Check]:
    try:
        got = backend.read(key)
    except StorageError as exc:
        if _checksum_trouble(exc):
            bad = failed(
                "checksums", f"reading back failed its checksum check: {exc}", CHECKSUM_HINT
            )
            return [failed("read", f"could not read the probe back: {exc}"), bad]
        return [
            failed("read", f"could not read the probe back: {exc}"),
            *skipped(["checksums"], ""),
        ]
    if got != expected:
        detail = f"the server returned {len(got)} bytes for the {len(expected)} written"
        return [passed("read", "read back"), failed("checksums", detail, CHECKSUM_HINT)]
    how = {
        "checks": "it checks the SHA-256 sent with a body: archive copies are verified by it",
        "ignores": "it ignores the SHA-256 sent with a body: archives read each copy back",
        "refuses": "it refuses SHA-256 checksums: archives send none and read each copy back",
    }.get(backend.checksum_support() or "", "whether it checks SHA-256 checksums is unknown")
    import botocore  # imported by the S3 backend already; not on `import pyexec_store`

    sent = (
        "botocore's default checksums are accepted"
        if sends_default_checksums()
        else f"botocore {botocore.__version__} sends no checksum by default"
    )
    return [
        passed("read", f"read back the same {len(got)} bytes"),
        passed("checksums", f"{sent}; {how}"),
    ]


def presigned_checks(store: ArtifactStore, key: str, expected: bytes) -> list[Check]:
    """A presigned link to the probe, fetched over plain HTTP; also one for the public endpoint."""
    checks = [
        _fetch("presigned link", PresignedUrls(store.backend, url_expires=300).url(key), expected)
    ]
    public = (
        store.urls.settings.get("public_endpoint_url")
        if isinstance(store.urls, PresignedUrls)
        else None
    )
    if public:
        links = PresignedUrls(store.backend, url_expires=300, public_endpoint_url=public)
        checks.append(_fetch("public link", links.url(key), expected, public=True))
    return checks


def _fetch(name: str, url: str, expected: bytes, *, public: bool = False) -> Check:
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}"  # without the signature
    try:
        with urllib.request.urlopen(url, timeout=SECONDS) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        return failed(
            name,
            f"{shown}: HTTP {exc.code} {exc.reason}",
            f"the link is signed for {parts.netloc}: a proxy in front must pass that Host header "
            "unchanged, and the clocks must agree",
        )
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if public:
            return warned(
                name,
                f"{shown} cannot be fetched from this machine ({reason})",
                "fine if only browsers elsewhere reach public_endpoint_url; else check it",
            )
        return failed(name, f"{shown} cannot be fetched: {reason}")
    if body != expected:
        return failed(name, f"{shown} returned other bytes than were written")
    return passed(name, f"{shown} opens with a plain HTTP GET")


def _delete(backend: Any, key: str) -> Check:
    try:
        backend.delete([key])
        backend.read(key)
    except StorageNotFoundError:
        return passed("delete", "deleted the probe (DeleteObjects), and it is gone")
    except StorageError as exc:
        return failed(
            "delete", f"could not delete the probe: {exc}", "the key needs s3:DeleteObject"
        )
    return failed("delete", "the probe is still there after DeleteObjects said it was deleted")
