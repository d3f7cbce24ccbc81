"""``jupyter`` strategy: links that open a file in JupyterLab.

``{base_url}/lab/tree/{prefix}/{path relative to executed_scripts}``, for a
Jupyter server whose root folder holds ``executed_scripts/``.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from ..backends.base import Backend
from ..errors import ConfigTypeError
from ..layout import SCRIPTS_DIR
from .base import UrlStrategy, check_http_url


class JupyterUrls(UrlStrategy):
    """JupyterLab links, as the original FileManager made them."""

    options: ClassVar[dict[str, Any]] = {
        "jupyter_base_url": "http://localhost:8088",
        "jupyter_prefix": SCRIPTS_DIR,
    }

    def __init__(self, backend: Backend, **options: Any) -> None:
        super().__init__(backend, **options)
        self.base_url: str = self.settings["jupyter_base_url"]
        self.prefix: str = self.settings["jupyter_prefix"].strip("/")

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        settings = super().check_options(options)
        check_http_url("jupyter_base_url", settings["jupyter_base_url"])
        prefix = settings["jupyter_prefix"]
        if not isinstance(prefix, str):
            raise ConfigTypeError(f"jupyter_prefix must be a str, not {type(prefix).__name__}")
        return settings

    def url(self, key: str, *, expires: int | None = None) -> str:
        if key != SCRIPTS_DIR and not key.startswith(SCRIPTS_DIR + "/"):
            # Outside executed_scripts/ (what the Jupyter root holds): the storage's own
            # URL, as the original gave file:// URIs there.
            return self.backend.uri(key)
        tail = "/".join(part for part in (self.prefix, key[len(SCRIPTS_DIR) + 1 :]) if part)
        return f"{self.base_url.rstrip('/')}/lab/tree/{quote(tail, safe='/')}"
