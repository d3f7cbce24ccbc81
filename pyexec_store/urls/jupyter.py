"""``jupyter`` strategy: links that open a file in JupyterLab.

``{base_url}/lab/tree/{prefix}/{path relative to executed_scripts}``, for a
Jupyter server whose root folder holds ``executed_scripts/``.
"""

from __future__ import annotations

from urllib.parse import quote

from ..layout import SCRIPTS_DIR
from .base import UrlStrategy


class JupyterUrls(UrlStrategy):
    """JupyterLab links, as the seed's FileManager makes them."""

    def url(self, rel: str, *, expires: int | None = None) -> str:
        if rel != SCRIPTS_DIR and not rel.startswith(SCRIPTS_DIR + "/"):
            # Outside executed_scripts/ (what the Jupyter root holds): the storage's own
            # URL, as the original gave file:// URIs there.
            return self.backend.uri(rel)
        inside = rel[len(SCRIPTS_DIR) + 1 :]
        base = self.options.jupyter_base_url.rstrip("/")
        prefix = self.options.jupyter_prefix.strip("/")
        tail = "/".join(part for part in (prefix, inside) if part)
        return f"{base}/lab/tree/{quote(tail, safe='/')}"
