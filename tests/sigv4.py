"""An independent SigV4 query-string verifier, written from AWS's published algorithm.

moto's server does not check presigned signatures, so the tests check them here:
recompute the signature from the URL itself (host, path, query) and the secret.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, urlsplit


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def verify_presigned_get(url: str, secret: str, now: datetime | None = None) -> bool:
    """True if ``url`` is a valid, unexpired SigV4 presigned GET for its own host."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        return False
    signature = params["X-Amz-Signature"]
    signed = sorted((k, v) for k, v in query if k != "X-Amz-Signature")
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in signed
    )
    assert params["X-Amz-SignedHeaders"] == "host"
    canonical = "\n".join(
        [
            "GET",
            quote(parts.path, safe="/-_.~"),
            canonical_query,
            f"host:{parts.netloc}\n",
            "host",
            "UNSIGNED-PAYLOAD",
        ]
    )
    stamp = params["X-Amz-Date"]
    scope = params["X-Amz-Credential"].split("/", 1)[1]
    date, region, service, _ = scope.split("/")
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    fresh = (now - signed_at).total_seconds() <= int(params["X-Amz-Expires"])
    return hmac.compare_digest(expected, signature) and fresh
