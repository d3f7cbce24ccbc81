"""Every use of s3fs's and botocore's internals, in one place.

Checked against s3fs 2024.6.0 (aiobotocore 2.26, botocore 1.41) and 2026.9.0
(aiobotocore 3.10, botocore 1.43), where the S3 tests pass:

- ``S3FileSystem.set_session()`` and ``get_s3(bucket)`` return the
  aiobotocore client s3fs made; ``s3_additional_kwargs`` and ``req_kw`` are
  the request parameters it adds to every call (its ``_call_s3`` does the same).
- s3fs's own calls (``_ls``, ``_find``, ``_rm``) raise a built-in exception
  (``s3fs.errors.translate_boto_error``) whose ``__cause__`` is botocore's
  ``ClientError``, whose ``response["Error"]["Code"]`` is the S3 error code.
- ``botocore.utils.validate_region_name`` is the check botocore makes of a
  region when it builds a client.
- ``S3FileSystem.session`` is the aiobotocore session its clients come from;
  a handler registered on it (and on the client made already) sees botocore's
  ``before-send`` event of every HTTP request, retries included.

:func:`call` sends requests on that client without s3fs's retry loop, which
would send a streamed body again from where the last attempt left it;
botocore's own retries rewind it. :func:`builtin_error` turns botocore's
errors into built-in exceptions, as s3fs's ``errors.py`` does.
"""

from __future__ import annotations

import errno
from typing import Any

from ..errors import ConfigError, ConfigTypeError


async def call(fs: Any, method: str, **params: Any) -> dict[str, Any]:
    """One S3 request (``"get_object"``, ``"upload_part"``, …) on ``fs``'s client.

    The filesystem's extra request parameters are added where the operation
    takes them. An error is raised as :func:`builtin_error` makes it.
    """
    await fs.set_session()
    client = await fs.get_s3(params.get("Bucket"))
    operation = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[method])
    accepted = operation.input_shape.members if operation.input_shape is not None else {}
    extra = {**fs.s3_additional_kwargs, **fs.req_kw}
    params = {**{k: v for k, v in extra.items() if k in accepted}, **params}
    try:
        response: dict[str, Any] = await getattr(client, method)(**params)
    except Exception as exc:
        translated = builtin_error(exc)
        if translated is exc:
            raise
        raise translated from exc
    return response


def on_every_request(fs: Any, handler: Any, unique_id: str) -> None:
    """Call ``handler(event_name=..., **kwargs)`` before each HTTP request ``fs`` sends.

    ``event_name`` ends with the S3 operation (``before-send.s3.PutObject``).
    The handler must return ``None`` (anything else would replace the answer).
    Registered once per ``unique_id``; clients ``fs`` makes later inherit it.
    """
    from fsspec.asyn import sync

    sync(fs.loop, fs.set_session)
    for emitter in (fs.session, fs.s3.meta.events):
        emitter.register("before-send.s3", handler, unique_id=unique_id)


def error_code(exc: BaseException) -> str | None:
    """The S3 error code of a ``ClientError``, or of the one s3fs translated into ``exc``."""
    for candidate in (exc, exc.__cause__):
        response = getattr(candidate, "response", None)
        if isinstance(response, dict):
            code = response.get("Error", {}).get("Code")
            return str(code) if code else None
    return None


def builtin_error(exc: BaseException) -> BaseException:
    """``exc`` as the built-in exception that says what went wrong, if it is botocore's.

    Credentials that cannot be found become :class:`PermissionError`, timeouts
    :class:`TimeoutError` (``ETIMEDOUT``), lost connections :class:`ConnectionError`.
    Anything else is returned as it is.
    """
    from botocore import exceptions as boto
    from s3fs.errors import translate_boto_error

    text = str(exc)
    if isinstance(exc, boto.ClientError):
        if error_code(exc) == "PreconditionFailed":
            # Our only precondition is If-None-Match: *, so the key exists
            # (s3fs 2024.6 says EINVAL; later ones agree only when the answer names it).
            return FileExistsError(errno.EEXIST, text)
        translated: BaseException = translate_boto_error(exc, set_cause=False)
        return translated
    if isinstance(
        exc, (boto.NoCredentialsError, boto.PartialCredentialsError, boto.CredentialRetrievalError)
    ):
        return PermissionError(errno.EACCES, text)
    if isinstance(exc, (boto.ConnectTimeoutError, boto.ReadTimeoutError)):
        return TimeoutError(errno.ETIMEDOUT, text)
    if isinstance(
        exc,
        (
            boto.EndpointConnectionError,
            boto.ConnectionClosedError,
            boto.ResponseStreamingError,
            boto.IncompleteReadError,
        ),
    ):
        return ConnectionError(text)
    return exc


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
