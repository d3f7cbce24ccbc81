"""The read side of a store: keys and links, finding, opening and reading executions.

:class:`StoreReader` is what reading needs (a backend and a link strategy);
:class:`~pyexec_store.store.ArtifactStore` adds the write side on top of it.
"""

from __future__ import annotations

import os
from pathlib import PurePath
from typing import Any

from upath import UPath

from . import catalog, layout
from .backends import Backend
from .errors import ConfigError, ConfigTypeError, StorageError
from .models import ExecutionInfo, PythonExecutionContext
from .urls import UrlStrategy

StrPath = str | os.PathLike[str] | UPath
ExecutionRef = StrPath | PurePath | ExecutionInfo


class StoreReader:
    """Keys, links and reads of one store.

    Parameters
    ----------
    backend
        The storage.
    urls
        How links to stored files are made.
    """

    def __init__(self, backend: Backend, urls: UrlStrategy) -> None:
        self.backend = backend
        self.urls = urls

    def __repr__(self) -> str:
        kind, strategy = type(self).__name__, type(self.urls).__name__
        return f"{kind}({self.backend.location!r}, url_strategy={strategy})"

    @property
    def root(self) -> UPath:
        """The store's root folder."""
        return self.backend.upath("")

    def key(self, path: StrPath | PurePath) -> str:
        """The key (path relative to the root) of a path inside the store."""
        return self.backend.relative(str(path) if isinstance(path, UPath) else os.fspath(path))

    def url(self, path: StrPath | PurePath, *, expires: int | None = None) -> str:
        """A link to a stored file, by the store's URL strategy.

        Parameters
        ----------
        path
            A path inside the store (as returned by the other methods), or a
            path relative to the store root.
        expires
            Lifetime in seconds, for strategies whose links expire.
        """
        return self.urls.url(self.key(path), expires=expires)

    def open_execution(self, execution: ExecutionRef) -> PythonExecutionContext:
        """Resume an execution: numbering continues after what is stored.

        Parameters
        ----------
        execution
            Its id (``"aa5972ac"``), its folder name, its path or URL, or a row
            of :meth:`list_executions`. Folders without metadata (written by
            the original module) open too.

        Raises
        ------
        StorageNotFoundError
            If nothing is stored there, or no execution has that id.
        ConfigError
            If an id is ambiguous or a path is no execution folder.
        """
        return catalog.open_execution(self.backend, self.urls, execution)

    def load_context(self, ctx: PythonExecutionContext) -> dict[str, Any]:
        """The dict saved by :meth:`save_context`."""
        data = catalog.read_json(self.backend, f"{folder_key(self, ctx)}/{layout.CONTEXT_FILE}")
        if not isinstance(data, dict):
            raise StorageError("load", "context.json", None, "it does not hold a JSON object")
        return data

    def load_results(self, ctx: PythonExecutionContext) -> Any:
        """The parsed ``results.json`` (integers beyond 64 bits exact)."""
        return catalog.read_json(self.backend, f"{folder_key(self, ctx)}/{layout.RESULTS_FILE}")

    def load_notebook(self, path: StrPath | PurePath) -> Any:
        """A stored notebook, read and validated: an ``nbformat.NotebookNode``."""
        return catalog.load_notebook(self.backend, self.key(path))

    def list_executions(
        self, name: str | None = None, since: Any = None, status: str | None = None
    ) -> list[ExecutionInfo]:
        """The executions in the store, oldest first.

        Parameters
        ----------
        name
            Keep executions with this name (as given to :meth:`create_execution`),
            or whose name matches this shell pattern (``"sensor_*"``).
        since
            A ``datetime``, a ``timedelta`` or an age like ``"7d"``.
        status
            One of ``running``, ``success``, ``failed``, ``interrupted``,
            ``unknown``, ``deleting``; anything else is a ``ValueError``.
        """
        return catalog.list_executions(self.backend, self.urls, name, since, status)


def folder_key(store: StoreReader, ctx: PythonExecutionContext) -> str:
    """The folder key of ``ctx`` (remembered on it once known)."""
    if not isinstance(ctx, PythonExecutionContext):
        raise ConfigTypeError(f"expected a PythonExecutionContext, not {type(ctx).__name__}")
    if ctx.folder_key is None:
        if ctx.folder_path is None:
            raise ConfigError("the execution context has no folder: create_execution() first")
        ctx.folder_key = store.key(ctx.folder_path)
    return ctx.folder_key
