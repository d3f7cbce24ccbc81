"""URL strategies, chosen per backend and overridable per store.

============  ==================================================================
``file``      ``file:///abs/path`` locally, the storage's own URL elsewhere
``jupyter``   a JupyterLab link for a server whose root holds ``executed_scripts/``
``presigned`` a SigV4 presigned GET link to an S3 object
============  ==================================================================
"""

from __future__ import annotations

import importlib

from ..backends.base import Backend
from ..errors import ConfigError, ConfigTypeError
from .base import UrlOptions, UrlStrategy, check_expires

__all__ = ["UrlOptions", "UrlStrategy", "check_expires", "make_strategy", "register_strategy"]

_KNOWN: dict[str, str] = {
    "file": "pyexec_store.urls.file:FileUrls",
    "jupyter": "pyexec_store.urls.jupyter:JupyterUrls",
    "presigned": "pyexec_store.urls.presigned:PresignedUrls",
}


def register_strategy(name: str, target: str) -> None:
    """Make ``url_strategy=name`` use ``target`` (``"module:Class"``)."""
    _KNOWN[name] = target


def make_strategy(name: str | None, backend: Backend, options: UrlOptions) -> UrlStrategy:
    """The strategy called ``name``, or the backend's default when ``name`` is None."""
    if name is None:
        name = backend.default_url_strategy
    if not isinstance(name, str):
        raise ConfigTypeError(f"url_strategy must be a str, not {type(name).__name__}")
    if name not in _KNOWN:
        raise ConfigError(
            f"unknown url_strategy {name!r}; choose one of {', '.join(sorted(_KNOWN))}"
        )
    module_name, class_name = _KNOWN[name].split(":")
    cls: type[UrlStrategy] = getattr(importlib.import_module(module_name), class_name)
    return cls(backend, options)
