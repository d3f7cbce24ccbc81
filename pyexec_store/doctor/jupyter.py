"""Is the Jupyter server that ``jupyter`` links point at there, and does it see the store?"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from ..store import ArtifactStore
from .checks import Check, failed, passed, warned
from .network import TIMEOUT, reach


def jupyter_check(store: ArtifactStore) -> Check:
    """The server at ``jupyter_base_url`` answers, and its root holds ``executed_scripts/``."""
    urls: Any = store.urls
    base, prefix = urls.base_url.rstrip("/"), urls.prefix
    reached, _ = reach(base, "jupyter")
    if not reached.ok:
        hint = f"start JupyterLab with --ServerApp.root_dir={store.backend.location} on that port"
        return failed("jupyter", reached.detail, hint)
    try:
        with urllib.request.urlopen(f"{base}/api", timeout=TIMEOUT) as response:
            version = json.loads(response.read()).get("version", "?")
    except (urllib.error.URLError, OSError, ValueError, AttributeError) as exc:
        return failed("jupyter", f"{base}/api is no Jupyter server API: {exc}")
    contents = f"{base}/api/contents/{quote(prefix)}?content=0"
    try:
        with urllib.request.urlopen(contents, timeout=TIMEOUT):
            pass
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            return warned(
                "jupyter",
                f"Jupyter Server {version} at {base} asks for a token: links open after logging in",
                "or run it without a token on a trusted network (--IdentityProvider.token=)",
            )
        return failed(
            "jupyter",
            f"Jupyter Server {version} at {base} has no {prefix}/ under its root (HTTP {exc.code})",
            f"start it with --ServerApp.root_dir={store.backend.location}, or set jupyter_prefix",
        )
    except (urllib.error.URLError, OSError) as exc:
        return failed("jupyter", f"{contents}: {exc}")
    return passed("jupyter", f"Jupyter Server {version} at {base} serves {prefix}/: links open")
