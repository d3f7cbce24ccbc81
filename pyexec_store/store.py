"""The artifact store: the public API an executor calls, over one backend.

How a write flows: a method builds the key (:mod:`~pyexec_store.layout`) and
the bytes (:mod:`~pyexec_store.notebooks`, :mod:`~pyexec_store.results`), then
hands a :class:`~pyexec_store.backends.WriteItem` to the backend, which alone
talks to the storage. Links come from the URL strategy, computed before the
write so a bad link setting never leaves an orphan file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import Any

from upath import UPath

from . import catalog, layout, notebooks
from .backends import Backend, WriteItem
from .errors import (
    ConfigError,
    ConfigTypeError,
    StorageError,
)
from .models import ExecutionInfo, NotebookAttempt, NotebookType, PythonExecutionContext, now_iso
from .results import EncodedResults, encode_results
from .urls import UrlStrategy
from .writing import IPYNB, JSON, PNG, claim_next, dumps, new_attempt, new_metadata, png_bytes

logger = logging.getLogger("pyexec_store")

StrPath = str | os.PathLike[str] | UPath
ExecutionRef = StrPath | PurePath | ExecutionInfo


class ArtifactStore:
    """Where an executor keeps what every execution leaves behind.

    Open one with :func:`~pyexec_store.open_store`. Methods take paths as a
    :class:`upath.UPath` (a ``pathlib.Path`` on local disk), a URL, or a path
    relative to the store root, and return ``UPath`` objects inside the store.

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
        return f"ArtifactStore({self.backend.location!r}, url_strategy={type(self.urls).__name__})"

    @property
    def root(self) -> UPath:
        """The store's root folder."""
        return self.backend.upath("")

    # -- paths --------------------------------------------------------------
    def key(self, path: StrPath | PurePath) -> str:
        """The key (path relative to the root) of a path inside the store."""
        return self.backend.relative(str(path) if isinstance(path, UPath) else os.fspath(path))

    def _folder(self, ctx: PythonExecutionContext) -> str:
        if not isinstance(ctx, PythonExecutionContext):
            raise ConfigTypeError(f"expected a PythonExecutionContext, not {type(ctx).__name__}")
        if ctx.folder_key is None:
            if ctx.folder_path is None:
                raise ConfigError("the execution context has no folder: create_execution() first")
            ctx.folder_key = self.key(ctx.folder_path)
        return ctx.folder_key

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

    # -- lifecycle ----------------------------------------------------------
    def create_execution(self, name: str = layout.DEFAULT_NAME) -> PythonExecutionContext:
        """Claim a new execution folder.

        The folder is claimed by an exclusive create of its
        ``execution_metadata.json`` (status ``running``), so no two executions
        can ever share one.

        Parameters
        ----------
        name
            A descriptive name, kept as given in the metadata; the folder holds
            its ASCII form reduced to ``[A-Za-z0-9._-]``, at most 64 characters.
        """
        if name is None:
            name = layout.DEFAULT_NAME
        if not isinstance(name, str):
            raise ConfigTypeError(f"a name must be a str, not {type(name).__name__}")
        claimed: list[tuple[str, dict[str, Any]]] = []

        def claim(_: int) -> WriteItem:
            ex = layout.new_execution(name)
            meta = new_metadata(ex, name)
            self.urls.folder_url(ex.folder)  # before the claim: a bad setting orphans nothing
            # The execution folder and attempts/ are where a container user works.
            self.backend.makedirs(f"{ex.folder}/{layout.ATTEMPTS_DIR}", shared_from=ex.folder)
            claimed.append((ex.folder, meta))
            return WriteItem(f"{ex.folder}/{layout.METADATA_FILE}", dumps(meta), True, JSON)

        (key,) = claim_next(self.backend, 1, claim)
        folder, meta = next(c for c in claimed if key.startswith(c[0] + "/"))
        ctx = catalog.new_context(self.backend, self.urls, folder, meta)
        logger.info("Created execution folder: %s", folder)
        return ctx

    def finish_execution(
        self,
        ctx: PythonExecutionContext,
        success: bool = True,
        error: str | None = None,
        *,
        details: Mapping[str, Any] | None = None,
    ) -> UPath:
        """Record the outcome in ``execution_metadata.json`` (status ``success`` or ``failed``).

        Then the whole execution is made durable (on local disk: every file and
        folder synced once; see the ``durable`` option of local stores).

        Parameters
        ----------
        details
            More facts to keep in the metadata (``pyexec-store run`` records
            the exit status, duration and output tails here).
        """
        meta = {
            "status": "success" if success else "failed",
            "finished_at": now_iso(),
            "attempts": ctx.get_next_attempt_number() - 1,
            "figures": ctx.figure_count,
            **(details or {}),
        }
        if error is not None:
            meta["error"] = str(error)
        path = self._update_metadata(ctx, meta)
        self.backend.sync(self._folder(ctx))  # a finished execution survives a power loss
        return path

    def heartbeat(self, ctx: PythonExecutionContext, interval: float) -> None:
        """Record that the writer of a running execution is alive, and when to expect it next.

        A reader on another host reports an execution whose heartbeat is more
        than three intervals old as ``interrupted``.
        """
        self._update_metadata(ctx, {"heartbeat": now_iso(), "heartbeat_interval": interval})

    def _update_metadata(self, ctx: PythonExecutionContext, changes: Mapping[str, Any]) -> UPath:
        key = f"{self._folder(ctx)}/{layout.METADATA_FILE}"
        meta = dict(ctx.metadata) or catalog.read_json(self.backend, key)
        meta.update(changes)
        self.backend.write(key, dumps(meta), content_type=JSON)
        ctx.metadata = meta
        return self.backend.upath(key)

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

    def delete_execution(self, execution: ExecutionRef | PythonExecutionContext) -> dict[str, int]:
        """Delete a whole execution, safely if interrupted.

        The metadata is marked ``deleting`` first and removed last, so an
        execution cut off half-way lists as ``deleting`` and deleting it again
        finishes the job. Returns the files removed (paths relative to the
        execution folder) with their sizes.
        """
        if isinstance(execution, PythonExecutionContext):
            folder = self._folder(execution)
        else:
            folder = catalog.execution_key(self.backend, execution)
        return catalog.delete_execution(self.backend, folder)

    # -- artifacts ----------------------------------------------------------
    def save_context(self, ctx: PythonExecutionContext, data: Mapping[str, Any]) -> UPath:
        """Write ``context.json``, which every notebook's first code cell loads."""
        if not isinstance(data, Mapping):
            raise ConfigTypeError(f"context data must be a mapping, not {type(data).__name__}")
        key = f"{self._folder(ctx)}/{layout.CONTEXT_FILE}"
        self.backend.write(key, encode_results(dict(data)).data, content_type=JSON)
        ctx.context_file_path = self.backend.upath(key)
        return ctx.context_file_path

    def load_context(self, ctx: PythonExecutionContext) -> dict[str, Any]:
        """The dict saved by :meth:`save_context`."""
        data = catalog.read_json(self.backend, f"{self._folder(ctx)}/{layout.CONTEXT_FILE}")
        if not isinstance(data, dict):
            raise StorageError("load", "context.json", None, "it does not hold a JSON object")
        return data

    def save_results(
        self, ctx: PythonExecutionContext, results: Any, *, indent: int | None = 2
    ) -> UPath:
        """Write ``results.json`` (never fails on the data; lossy conversions are logged).

        ``results`` may also be what :func:`~pyexec_store.encode_results`
        returned (encoded elsewhere, say in the process that ran the code).
        """
        key = f"{self._folder(ctx)}/{layout.RESULTS_FILE}"
        encoded = (
            results
            if isinstance(results, EncodedResults)
            else encode_results(results, indent=indent)
        )
        for warning in encoded.warnings:
            logger.warning("results.json: %s", warning)
        self.backend.write(key, encoded.data, content_type=JSON)
        return self.backend.upath(key)

    def load_results(self, ctx: PythonExecutionContext) -> Any:
        """The parsed ``results.json`` (integers beyond 64 bits exact)."""
        return catalog.read_json(self.backend, f"{self._folder(ctx)}/{layout.RESULTS_FILE}")

    def load_notebook(self, path: StrPath | PurePath) -> Any:
        """A stored notebook, read and validated: an ``nbformat.NotebookNode``."""
        return catalog.load_notebook(self.backend, self.key(path))

    def save_figure(self, ctx: PythonExecutionContext, figure: Any) -> UPath:
        """Write the next ``figures/figure_NN.png``.

        Parameters
        ----------
        figure
            PNG bytes, a matplotlib figure (anything with ``savefig``), or the
            path (``str`` or ``os.PathLike``) of a local PNG file.
        """
        return self.save_figures(ctx, [figure])[0]

    def save_figures(self, ctx: PythonExecutionContext, figures: Iterable[Any]) -> list[UPath]:
        """Write several figures at once (sent concurrently where the storage allows).

        Each figure takes the next free number; one whose number another writer
        took (a resumed copy of this execution) is written again under a new one.
        """
        folder = self._folder(ctx)
        pngs = [png_bytes(f) for f in figures]
        keys = claim_next(
            self.backend,
            len(pngs),
            lambda i: WriteItem(
                layout.figure_file(folder, ctx.claim_figure_number()), pngs[i], True, PNG
            ),
        )
        return [self.backend.upath(k) for k in keys]

    def create_attempt_notebook(
        self,
        ctx: PythonExecutionContext,
        code: str,
        stage: str = "execution",
        error_context: str | None = None,
        approval_context: str | None = None,
        *,
        notebook_type: NotebookType = NotebookType.EXECUTION_ATTEMPT,
    ) -> UPath:
        """Write ``attempts/NN_<stage>_<HHMMSS>.ipynb`` and record it on ``ctx``.

        Numbers are handed out by the context and the notebook is written with
        an exclusive create, so threads sharing a context never share a number
        and no notebook is ever overwritten. (Two processes that each resume the
        same execution keep separate counts: their notebooks never overwrite
        each other, but their numbers may repeat.)
        """
        for name, value in (("code", code), ("stage", stage)):
            if not isinstance(value, str):
                raise ConfigTypeError(f"{name} must be a str, not {type(value).__name__}")
        folder = self._folder(ctx)
        if ctx.context_file_path is None:
            logger.warning("Context file not found when creating notebook: %s", folder)
        attempt: list[NotebookAttempt] = []

        def item(_: int) -> WriteItem:
            made, write = new_attempt(
                self.backend,
                self.urls,
                ctx,
                folder,
                code,
                stage,
                error_context,
                approval_context,
                notebook_type,
            )
            attempt[:] = [made]
            return write

        claim_next(self.backend, 1, item)
        ctx.add_notebook_attempt(attempt[0])
        return attempt[0].notebook_path  # type: ignore[return-value]

    def create_final_notebook(
        self,
        ctx: PythonExecutionContext,
        code: str,
        results: Any = None,
        error_context: str | None = None,
        figure_paths: Sequence[StrPath | PurePath] | None = None,
    ) -> UPath:
        """Write the final ``notebook.ipynb``: code, results and figures sections."""
        if not isinstance(code, str):
            raise ConfigTypeError(f"code must be a str, not {type(code).__name__}")
        folder = self._folder(ctx)
        notebook = notebooks.final_notebook(
            code,
            results=results,
            error_context=error_context,
            figure_paths=[_figure_key(self, folder, f) for f in figure_paths or []],
            execution_folder=folder,
            with_context=ctx.context_file_path is not None,
        )
        key = f"{folder}/{layout.FINAL_NOTEBOOK}"
        self.backend.write(key, notebooks.to_bytes(notebook), content_type=IPYNB)
        logger.info("Created final notebook: %s", key)
        return self.backend.upath(key)

    # -- listing ------------------------------------------------------------
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


def _figure_key(store: ArtifactStore, folder: str, figure: StrPath | PurePath) -> str:
    """The key of a figure (relative paths: relative to the execution folder)."""
    text = str(figure)
    if "://" not in text and not os.path.isabs(text):
        return f"{folder}/{text}"
    try:
        return store.key(figure)
    except ConfigError:
        return text  # outside the store: the notebook links its bare name
