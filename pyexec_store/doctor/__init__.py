"""``doctor``: a preflight checklist of a store, each line passed or failed with a fix.

S3 stores (:mod:`.s3`): endpoint, clock, credentials, bucket, region,
addressing style, checksums, conditional writes, a probe written, read,
fetched through presigned links and deleted. Local stores (:mod:`.local`):
the folder writable with the permission policy's modes, free space. Any
store whose links are ``jupyter``: the Jupyter server (:mod:`.jupyter`).
Messages name endpoints and paths, never a secret.
"""

from __future__ import annotations

import os
from typing import Any

from ..config import open_store
from ..errors import ConfigError, ConfigTypeError, MissingDependencyError
from ..store import ArtifactStore
from ..urls.jupyter import JupyterUrls
from .checks import Check, failed, passed
from .jupyter import jupyter_check
from .local import local_checks, probe_checks
from .s3 import s3_checks

__all__ = ["Check", "doctor"]


def doctor(
    store_or_url: ArtifactStore | str | os.PathLike[str] | None = None, **options: Any
) -> list[Check]:
    """Check that a store works before anything is written to it.

    Parameters
    ----------
    store_or_url
        A store, or a URL to open with ``options`` (default: as :func:`open_store`).
    **options
        ``open_store`` options.

    Returns
    -------
    list[Check]
        In order; a check that could not run because an earlier one failed is
        ``skip``. Settings that cannot even open a store are one failed check.
    """
    if isinstance(store_or_url, ArtifactStore):
        store = store_or_url
    else:
        try:
            store = open_store(store_or_url, **options)
        except (ConfigError, ConfigTypeError, MissingDependencyError) as exc:
            return [failed("settings", str(exc), "fix the store URL or option named")]
    backend = store.backend
    checks = [
        passed(
            "settings",
            f"{backend.location}: {type(backend).__name__}, {type(store.urls).__name__} links",
        )
    ]
    if backend.protocol == "s3":
        checks += s3_checks(store)
    elif backend.protocol == "file":
        checks += local_checks(store)
    else:
        checks += probe_checks(store)
    if isinstance(store.urls, JupyterUrls):
        checks.append(jupyter_check(store))
    return checks
