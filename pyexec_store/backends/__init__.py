"""Backends, chosen by URL protocol.

A table maps each known protocol to the module and class that serve it; the
module is imported only when a store uses it, so ``import pyexec_store`` needs
no optional dependency. Any other protocol that fsspec knows works through the
generic :class:`~pyexec_store.backends.base.Backend`. More backends can be
added with :func:`register_backend` or the ``pyexec_store.backends`` entry-point
group.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points
from typing import Any

import fsspec

from ..errors import (
    ConfigError,
    ConfigTypeError,
    MissingDependencyError,
    UnknownProtocolError,
    storage_error,
)
from .base import Backend, WriteItem

__all__ = [
    "Backend",
    "WriteItem",
    "get_backend",
    "is_local",
    "known_backends",
    "read_file_url",
    "register_backend",
    "write_file_url",
]

#: protocol -> ("module:Class", extra that installs its dependencies)
_KNOWN: dict[str, tuple[str, str | None]] = {
    "file": ("pyexec_store.backends.local:LocalBackend", None),
    "local": ("pyexec_store.backends.local:LocalBackend", None),
    "memory": ("pyexec_store.backends.memory:MemoryBackend", None),
    "s3": ("pyexec_store.backends.s3:S3Backend", "s3"),
    "s3a": ("pyexec_store.backends.s3:S3Backend", "s3"),
}
_REGISTERED: dict[str, type[Backend]] = {}


def register_backend(protocol: str, backend: type[Backend] | str) -> None:
    """Serve ``protocol`` with ``backend`` (a class, or ``"module:Class"`` to import lazily)."""
    if isinstance(backend, str):
        _KNOWN[protocol] = (backend, None)
        _REGISTERED.pop(protocol, None)
    else:
        _REGISTERED[protocol] = backend


def known_backends() -> list[str]:
    """Protocols with a dedicated backend (others fall back to the generic one)."""
    plugins = {ep.name for ep in entry_points(group="pyexec_store.backends")}
    return sorted(set(_KNOWN) | set(_REGISTERED) | plugins)


def split_protocol(url: str) -> str:
    """The protocol of ``url``; plain paths are ``file``."""
    if "://" in url:
        return url.split("://", 1)[0].lower()
    return "file"


def backend_class(protocol: str) -> type[Backend]:
    """The backend class for ``protocol``, importing it on first use."""
    if protocol in _REGISTERED:
        return _REGISTERED[protocol]
    for ep in entry_points(group="pyexec_store.backends"):
        if ep.name == protocol:
            cls: type[Backend] = ep.load()
            _REGISTERED[protocol] = cls
            return cls
    if protocol in _KNOWN:
        target, extra = _KNOWN[protocol]
        module_name, class_name = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            hint = f": pip install 'pyexec-store[{extra}]'" if extra else ""
            raise MissingDependencyError(
                f"the {protocol} backend cannot be imported ({exc}){hint}"
            ) from exc
        cls = getattr(module, class_name)
        _REGISTERED[protocol] = cls
        return cls
    if protocol in fsspec.available_protocols():
        return Backend
    raise UnknownProtocolError(
        f"no backend for protocol {protocol!r}; known: {', '.join(known_backends())}, "
        "or any protocol fsspec knows"
    )


def _store_url(url: object) -> str:
    if not isinstance(url, (str, os.PathLike)):
        raise ConfigTypeError(f"a store URL must be a str or path, not {type(url).__name__}")
    text = os.fspath(url)
    if not isinstance(text, str) or not text:
        raise UnknownProtocolError(f"not a store URL: {url!r}")
    return text


def is_local(url: str | os.PathLike[str]) -> bool:
    """Whether ``url`` names a store on local disk (where permissions apply)."""
    from .local import LocalBackend

    return issubclass(backend_class(split_protocol(_store_url(url))), LocalBackend)


def get_backend(
    url: str | os.PathLike[str], *, permissions: str | int | None = None, **options: Any
) -> Backend:
    """Open the backend serving ``url`` (a path or an fsspec URL).

    ``permissions`` is for local stores only; anywhere else it is an error.
    """
    text = _store_url(url)
    protocol = split_protocol(text)
    cls = backend_class(protocol)
    if permissions is not None:
        if not is_local(text):
            raise ConfigError("permissions apply to local stores only")
        options["permissions"] = permissions
    try:
        return cls(text, **options)
    except ImportError as exc:
        if isinstance(exc, MissingDependencyError):
            raise
        # fsspec names the package its implementation needs, e.g. "Install gcsfs ...".
        raise MissingDependencyError(f"the {protocol} storage needs a package: {exc}") from exc


def write_file_url(
    path_or_url: str | os.PathLike[str],
    data: bytes,
    *,
    content_type: str = "application/json",
    **storage_options: Any,
) -> None:
    """Write ``data`` to one file, atomically, wherever ``path_or_url`` points.

    A temporary file and a rename locally, a single PUT on S3.
    """
    protocol, parent, name = _split_file(os.fspath(path_or_url))
    if protocol == "file":
        # A plain file, not a store: no backend per call, and the umask's mode (as
        # open() would give) minus world write, not a store's permission policy.
        from .local import atomic_write

        try:
            atomic_write(parent, name, data)
        except OSError as exc:
            raise storage_error(exc, "write", os.path.join(parent, name)) from None
        return
    backend_class(protocol)(parent, **storage_options).write(name, data, content_type=content_type)


def read_file_url(path_or_url: str | os.PathLike[str], **storage_options: Any) -> bytes:
    """The bytes of one file, wherever ``path_or_url`` points."""
    protocol, parent, name = _split_file(os.fspath(path_or_url))
    return backend_class(protocol)(parent, **storage_options).read(name)


def _split_file(text: str) -> tuple[str, str, str]:
    """(protocol, parent folder, file name) of a file path or URL; local paths made absolute."""
    protocol = split_protocol(text)
    if protocol in ("file", "local"):
        from .local import local_path

        path = os.path.abspath(local_path(text))
        return "file", os.path.dirname(path), os.path.basename(path)
    parent, _, name = text.rstrip("/").rpartition("/")
    return protocol, parent, name
