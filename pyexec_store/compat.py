"""Seed-compatible drop-ins: ``FileManager``, ``NotebookManager``, ``load_context``.

Same signatures and return values as the original executor services, now on
any backend: ``configurable`` may name a ``storage_url`` (default: the local
``agent_data_dir``), ``storage_options``, ``url_strategy`` (default ``jupyter``,
as before) and ``execution_dir_permissions`` (default ``container``: the
original's world-writable execution folder and ``attempts/``, now 3777 with the
sticky bit, so a container user can write but not touch others' files).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import fsspec
from upath import UPath

from .backends import backend_class, split_protocol, store_url
from .backends.local import LocalBackend
from .config import open_store
from .errors import (
    ConfigError,
    ConfigTypeError,
    PathEscapeError,
    ResultsWriteError,
    StorageError,
)
from .layout import SCRIPTS_DIR
from .models import NotebookType, PythonExecutionContext
from .store import ArtifactStore

logger = logging.getLogger("pyexec_store")

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
    kwargs["url_strategy"] = configurable.get("url_strategy", kwargs.get("url_strategy", "jupyter"))
    if kwargs["url_strategy"] == "jupyter":
        kwargs.setdefault("jupyter_base_url", f"http://localhost:{jupyter_port(configurable)}")
    if issubclass(backend_class(split_protocol(store_url(url))), LocalBackend):
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
        self.base_dir = self.store.backend.upath(SCRIPTS_DIR)

    def create_execution_folder(self, name: str = "python_executor") -> PythonExecutionContext:
        """Claim a new execution folder; returns its context."""
        return self.store.create_execution(name)

    def save_results(self, results: dict[str, Any], folder_path: Path) -> UPath:
        """Write ``results.json`` into ``folder_path``.

        Raises
        ------
        ResultsWriteError
            (a ``RuntimeError``, as in the seed) when the file cannot be written,
            also when ``folder_path`` is outside the store: nothing is written
            outside the store root.
        """
        ctx = PythonExecutionContext(folder_path=folder_path)
        try:
            path = self.store.save_results(ctx, results)
        except (StorageError, PathEscapeError) as exc:
            logger.error("Failed to save results: %s", exc)
            endpoint, reason = getattr(exc, "endpoint", None), getattr(exc, "reason", str(exc))
            raise ResultsWriteError("save results", str(folder_path), endpoint, reason) from exc
        logger.info("Saved results to: %s", path)
        return path

    def _create_jupyter_url(self, folder_path: PurePath) -> str:
        """The link to a path: a JupyterLab link inside the store, else a ``file://`` URI."""
        try:
            return self.store.url(folder_path)
        except PathEscapeError:
            return Path(os.path.abspath(folder_path)).as_uri()  # the original's as_uri()
        except Exception as exc:
            logger.warning("Failed to create Jupyter URL: %s", exc)
            return str(folder_path)


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
    ) -> UPath:
        """Write the next attempt notebook; returns its path."""
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
        figure_paths: list[Path] | None = None,
    ) -> UPath:
        """Write ``notebook.ipynb``; returns its path."""
        path = self.store.create_final_notebook(context, code, results, error_context, figure_paths)
        return path


def load_context(
    path: str | os.PathLike[str] = "context.json", **storage_options: Any
) -> dict[str, Any] | None:
    """Read a ``context.json``: the dict, or ``None`` when it is missing or invalid.

    ``path`` is a local path or any fsspec URL (``s3://…`` with ``storage_options``).
    """
    try:
        with fsspec.open(os.fspath(path), "rb", **storage_options) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
