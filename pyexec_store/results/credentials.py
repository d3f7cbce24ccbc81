"""Objects that may carry credentials, written as their type name only.

An fsspec filesystem (``s3fs.S3FileSystem(key=..., secret=...)``), a boto3 or
botocore client, session or resource, or an aiobotocore one holds the keys it
was made with, and the original conversion chain would have written them: an
fsspec filesystem's ``to_dict()`` lists its storage options. Such objects are
recognised before any of their methods is called, by class (only classes of
modules already imported: nothing is imported to check) or by the package their
class comes from.
"""

from __future__ import annotations

import sys
from typing import Any

#: (module, class) of credential-carrying objects, checked when the module is loaded.
_CLASSES = (
    ("fsspec.spec", "AbstractFileSystem"),
    ("fsspec.mapping", "FSMap"),
    ("botocore.client", "BaseClient"),
    ("botocore.session", "Session"),
    ("botocore.credentials", "Credentials"),
    ("boto3.session", "Session"),
    ("boto3.resources.base", "ServiceResource"),
    ("aiobotocore.client", "AioBaseClient"),
    ("aiobotocore.session", "AioSession"),
)
#: Packages whose objects (other than exceptions) may all carry credentials.
_PACKAGES = frozenset({"fsspec", "s3fs", "gcsfs", "adlfs", "botocore", "boto3", "aiobotocore"})

NOTE = "may carry credentials: only its type is written"

_verdicts: dict[type, bool] = {}


def carries_credentials(obj: Any) -> bool:
    """True for objects that may hold credentials (see the module docstring)."""
    cls = type(obj)
    verdict = _verdicts.get(cls)
    if verdict is None:
        verdict = _check(obj, cls)
        if len(_verdicts) >= 1024:  # classes made on the fly (mocks) must not pile up
            _verdicts.clear()
        _verdicts[cls] = verdict
    return verdict


def _check(obj: Any, cls: type) -> bool:
    try:
        if issubclass(cls, BaseException):
            return False  # exceptions are written by their message, which names no secret
        for module, name in _CLASSES:
            loaded = sys.modules.get(module)
            klass = getattr(loaded, name, None) if loaded is not None else None
            if isinstance(klass, type) and isinstance(obj, klass):
                return True
        for klass in cls.__mro__:
            package = str(getattr(klass, "__module__", None) or "").partition(".")[0]
            if package in _PACKAGES:
                return True
    except Exception:
        return True  # cannot tell: write nothing but the type name
    return False
