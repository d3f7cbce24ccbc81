"""Seed-compatible drop-ins: ``FileManager``, ``NotebookManager``, ``load_context``.

Same signatures and return values as the original executor services, now on
any backend: ``configurable`` may name a ``storage_url`` (default: the local
``agent_data_dir``), ``storage_options``, ``url_strategy`` (default: ``jupyter``
on local disk, as before; elsewhere the backend's own links, presigned on S3)
and ``execution_dir_permissions`` (default ``container``: the original's
world-writable execution folder and ``attempts/``, now 3777 with the sticky
bit, so a container user can write but not touch others' files). Every
difference from the original is in docs/compat.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from upath import UPath

from . import layout
from .backends import backend_class, read_file_url, split_protocol, store_url, write_file_url
from .backends.generic import secret_values
from .backends.local import LocalBackend
from .catalog import parse_json, read_json
from .config import open_store
from .errors import (
    ConfigError,
    ConfigTypeError,
    PathEscapeError,
    PyExecStoreError,
    ResultsWriteError,
    StorageError,
    StorageNotFoundError,
    redactor,
)
from .models import NotebookType, PythonExecutionContext, StorePath
from .results import encode_results
from .store import ArtifactStore
from .urls import OPENING_SCHEMES
from .writing import JSON

logger = logging.getLogger("pyexec_store")

#: What the drop-ins return for a stored file or folder: a ``pathlib.Path`` on local
#: disk, as the original, a :class:`~upath.UPath` on other storage, which is no
#: ``Path`` (universal-pathlib 0.3 types them apart). One call gives either, by
#: configuration, which no static type can say: ``Any`` keeps the original's callers
#: (``nb: Path = nm.create_attempt_notebook(...)``) type-checking. See docs/compat.md.
SeedPath: TypeAlias = Any

_PORT_PATH = ("jupyter", "containers", "read", "port_host")


def _section(mapping: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = mapping.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigTypeError(f"configurable[{where}] must be a dict, not {type(value).__name__}")
    return value


def jupyter_port(configurable: Mapping[str, Any]) -> int:
    """The Jupyter port, from ``service_configs.{framework|osprey|<top>}``.

    The key is ``jupyter.containers.read.port_host`` under the first of those
    sections that has it; 8088 when none does.
    """
    services = _section(configurable, "service_configs", "'service_configs'")
    for owner in ("framework", "osprey", None):
        node = _section(services, owner, f"'service_configs.{owner}'") if owner else services
        where = "service_configs" + (f".{owner}" if owner else "")
        for key in _PORT_PATH[:-1]:
            where += f".{key}"
            node = _section(node, key, where)
        if _PORT_PATH[-1] in node:
            port = node[_PORT_PATH[-1]]
            # An int, or a string of digits; never a bool or a float to truncate.
            whole = isinstance(port, int) and not isinstance(port, bool)
            if not (whole or (isinstance(port, str) and port.isdigit())):
                raise ConfigError(f"{where}.port_host={port!r} is not a port number")
            if not 0 < int(port) < 65536:
                raise ConfigError(f"{where}.port_host={port!r} is not a port number")
            return int(port)
    return 8088


def store_from_configurable(configurable: Mapping[str, Any]) -> ArtifactStore:
    """The store a seed ``configurable`` describes (validated before any I/O)."""
    if not isinstance(configurable, Mapping):
        raise ConfigTypeError(f"configurable must be a dict, not {type(configurable).__name__}")
    agent_data_dir = configurable.get("agent_data_dir", "_agent_data")
    if not isinstance(agent_data_dir, (str, os.PathLike)):
        raise ConfigTypeError("configurable['agent_data_dir'] must be a path")
    url = configurable.get("storage_url") or agent_data_dir
    if not isinstance(url, (str, os.PathLike)):
        raise ConfigTypeError("configurable['storage_url'] must be a URL or a path")
    options = configurable.get("storage_options") or {}
    if not isinstance(options, Mapping):
        raise ConfigTypeError("configurable['storage_options'] must be a dict")
    # storage_options may carry any open_store argument; the top-level keys win.
    kwargs: dict[str, Any] = dict(options)
    local = issubclass(backend_class(split_protocol(store_url(url))), LocalBackend)
    # JupyterLab links, as the original, where Jupyter can serve the files: on local
    # disk. Elsewhere the backend's own links (presigned on S3), which open.
    strategy = configurable.get("url_strategy", kwargs.get("url_strategy"))
    if strategy is None and local:
        strategy = "jupyter"
    kwargs["url_strategy"] = strategy
    if strategy == "jupyter":
        kwargs.setdefault("jupyter_base_url", f"http://localhost:{jupyter_port(configurable)}")
    if local:
        kwargs["permissions"] = configurable.get(
            "execution_dir_permissions", kwargs.get("permissions", "container")
        )
    return open_store(url, **kwargs)


class FileManager:
    """Execution folders, results and links, as the seed's FileManager.

    Parameters
    ----------
    configurable
        The executor's configuration dict (see the module docstring).
    """

    def __init__(self, configurable: Mapping[str, Any]) -> None:
        self.store = store_from_configurable(configurable)
        self.configurable = configurable
        self.base_dir: SeedPath = self.store.backend.upath(layout.SCRIPTS_DIR)

    def create_execution_folder(self, name: str = "python_executor") -> PythonExecutionContext:
        """Claim a new execution folder; returns its context."""
        # Its folder_url opens: on S3 the presigned link of its final notebook (a
        # folder is no object), of its page once it has one.
        return self.store.create_execution(name)

    def save_results(
        self, results: dict[str, Any], folder_path: StorePath | str | os.PathLike[str] | None
    ) -> SeedPath:
        """Write ``results.json`` into ``folder_path``, as the original did.

        The folder comes from the calling program, so it is written to wherever
        it is: inside the store through the store (its file mode, atomic),
        elsewhere as a plain file (a local path relative to the working
        directory, or a URL; one of the store's protocol gets the store's
        storage options). Only names and stages from generated code are
        confined to the store root.

        Raises
        ------
        ResultsWriteError
            (a ``RuntimeError``, as in the original) when the file cannot be written.
        ConfigTypeError
            (a ``TypeError``, as the original's ``None / "results.json"``) for ``None``.
        """
        folder = _folder_text(folder_path)
        try:
            key: str | None = self.store.key(folder)
        except PathEscapeError:
            key = None  # outside the store
        encoded = encode_results(results)
        for warning in encoded.warnings:
            logger.warning("results.json: %s", warning)
        try:
            if key is not None:
                name = f"{key}/{layout.RESULTS_FILE}" if key else layout.RESULTS_FILE
                self.store.backend.write(name, encoded.data, content_type=JSON)
                path = self.store.backend.upath(name)
            else:
                target = f"{folder.rstrip('/')}/{layout.RESULTS_FILE}"
                options = self._options_for(folder_path, folder)
                write_file_url(target, encoded.data, **options)
                path = UPath(target, **options)
        except PyExecStoreError as exc:
            logger.error("Failed to save results: %s", _shown(str(exc)))
            endpoint, reason = getattr(exc, "endpoint", None), getattr(exc, "reason", str(exc))
            raise ResultsWriteError("save results", _shown(folder), endpoint, reason) from exc
        logger.info("Saved results to: %s", path)
        return path

    def _options_for(self, given: object, url: str) -> dict[str, Any]:
        """Storage options for a location outside the store: a UPath's own, else the
        store's for a URL of its protocol."""
        if isinstance(given, UPath):
            return dict(given.storage_options)
        if "://" in url and split_protocol(url) == self.store.backend.protocol:
            return self.store.backend.path_options()
        return {}

    def _create_jupyter_url(self, folder_path: StorePath | str | os.PathLike[str]) -> str:
        """The link to a path in the store (by its URL strategy), else its own URL
        (``file://`` for a local path, as the original's ``as_uri()``)."""
        try:
            try:
                key = self.store.key(folder_path)
            except PathEscapeError:
                text = _folder_text(folder_path)
                return text if "://" in text else Path(text).as_uri()
            if _is_execution_folder(key):
                return self._folder_link(key)
            return self.store.urls.url(key)
        except Exception as exc:
            logger.warning("Failed to create Jupyter URL: %s", exc)
            return str(folder_path)

    def _folder_link(self, key: str) -> str:
        """The link a person gets for the execution folder ``key``.

        Presigned links name objects, and a folder is none (its link would be
        a 404): the folder's link is its page's when it has one (its metadata
        says so), else its final notebook's.
        """
        urls = self.store.urls
        link = urls.folder_url(key)
        if link.startswith(OPENING_SCHEMES):
            return link
        page = False
        with contextlib.suppress(StorageError):
            meta = read_json(self.store.backend, f"{key}/{layout.METADATA_FILE}")
            page = isinstance(meta, dict) and meta.get("page") == layout.PAGE_FILE
        return urls.execution_url(key, page=page)


class NotebookManager:
    """Attempt and final notebooks, as the seed's NotebookManager."""

    def __init__(self, configurable: Mapping[str, Any]) -> None:
        self.configurable = configurable
        self._file_manager = FileManager(configurable)
        self.store = self._file_manager.store

    def create_attempt_notebook(
        self,
        context: PythonExecutionContext,
        code: str,
        stage: str = "execution",
        error_context: str | None = None,
        approval_context: str | None = None,
        silent: bool = False,
    ) -> SeedPath:
        """Write the next attempt notebook; returns its path (a ``Path`` on local disk)."""
        path = self.store.create_attempt_notebook(
            context,
            code,
            stage,
            error_context,
            approval_context,
            notebook_type=NotebookType.EXECUTION_ATTEMPT,
        )
        if not silent:
            logger.info("Created attempt notebook: %s", path)
        return path

    def create_final_notebook(
        self,
        context: PythonExecutionContext,
        code: str,
        results: dict[str, Any] | None = None,
        error_context: str | None = None,
        figure_paths: Sequence[StorePath | str | os.PathLike[str]] | None = None,
    ) -> SeedPath:
        """Write ``notebook.ipynb``; returns its path (a ``Path`` on local disk)."""
        return self.store.create_final_notebook(context, code, results, error_context, figure_paths)


def _is_execution_folder(key: str) -> bool:
    """Whether ``key`` is an execution folder in its place (``executed_scripts/YYYY-MM/...``)."""
    return layout.folder_of_leaf(key.rsplit("/", 1)[-1]) == key


def _folder_text(folder: object) -> str:
    """A folder the caller named, as text: a URL, or an absolute local path
    (relative ones are relative to the working directory, as for ``open``)."""
    if folder is None or not isinstance(folder, (str, os.PathLike, UPath)):
        raise ConfigTypeError(f"a folder must be a path or URL, not {type(folder).__name__}")
    text = str(folder) if isinstance(folder, UPath) else os.fspath(folder)
    if not isinstance(text, str):
        raise ConfigTypeError("a folder must be a str path, not bytes")
    return text if "://" in text else os.path.abspath(text)


def load_context(
    path: StorePath | str | os.PathLike[str] | None = "context.json", **storage_options: Any
) -> dict[str, Any] | None:
    """Read a ``context.json``: the dict, or ``None`` when it cannot be had.

    Parameters
    ----------
    path
        A local path (relative to the working directory), any fsspec URL, or a
        :class:`~upath.UPath`, whose own storage options are used
        (``ctx.context_file_path`` of an S3 store needs nothing more).
    **storage_options
        Storage options for a URL; they win over a UPath's own.

    Returns
    -------
    dict or None
        ``None``, with a log line giving the reason, when the file is missing,
        is no JSON object, or cannot be read at all (a dead endpoint, a refused
        permission): as the original, which caught everything.
    """
    if path is None:
        logger.warning("Context file not found: no path given")
        return None
    if isinstance(path, UPath):
        storage_options = {**path.storage_options, **storage_options}
    redact = redactor(secret_values(storage_options))
    where = _shown(path)
    try:
        text = str(path) if isinstance(path, UPath) else os.fspath(path)
        data = parse_json(read_file_url(text, **storage_options), where)
    except StorageNotFoundError:
        logger.warning("Context file not found: %s", where)
        return None
    except Exception as exc:
        logger.warning("Could not load context from %s: %s", where, redact(str(exc)))
        return None
    if not isinstance(data, dict):
        logger.warning("Context file %s does not hold a JSON object", where)
        return None
    return data


def _shown(path: object) -> str:
    """``path`` for a log line: never a user name or password written into a URL."""
    return re.sub(r"//[^/@]*@", "//", str(path))
