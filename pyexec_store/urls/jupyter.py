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
        inside = rel[len(SCRIPTS_DIR) + 1 :] if rel.startswith(SCRIPTS_DIR + "/") else rel
        base = self.options.jupyter_base_url.rstrip("/")
        prefix = self.options.jupyter_prefix.strip("/")
        tail = "/".join(part for part in (prefix, inside) if part)
        return f"{base}/lab/tree/{quote(tail, safe='/')}"
