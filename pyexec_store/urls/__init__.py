"""URL strategies, chosen per backend and overridable per store.

============  ==================================================================
``file``      ``file:///abs/path`` locally, the storage's own URL elsewhere
``jupyter``   a JupyterLab link for a server whose root holds ``executed_scripts/``
``presigned`` a SigV4 presigned GET link to an S3 object
============  ==================================================================

Strategies are found by name in :data:`pyexec_store.registry.URL_STRATEGIES`.
"""

from __future__ import annotations

from .base import MAX_EXPIRES, OPENING_SCHEMES, UrlStrategy, check_expires, check_http_url

__all__ = [
    "MAX_EXPIRES",
    "OPENING_SCHEMES",
    "UrlStrategy",
    "check_expires",
    "check_http_url",
]
