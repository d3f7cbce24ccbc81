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

from . import catalog, layout, notebooks, rendering
from .backends import Backend, WriteItem
from .errors import (
    ConfigError,
    ConfigTypeError,
)
from .models import NotebookAttempt, NotebookType, PythonExecutionContext, now_iso
from .reader import ExecutionRef, StoreReader, StrPath, folder_key
from .results import EncodedResults, encode_results
from .urls import UrlStrategy
from .writing import IPYNB, JSON, PNG, claim_execution, claim_next, dumps, new_attempt, png_bytes

logger = logging.getLogger("pyexec_store")


class ArtifactStore(StoreReader):
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
    render_pages
        Whether :meth:`finish_execution` also writes the execution page.
    """

    def __init__(self, backend: Backend, urls: UrlStrategy, *, render_pages: bool = False) -> None:
        super().__init__(backend, urls)
        self.render_pages = render_pages

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
        folder, meta = claim_execution(self.backend, self.urls, name)
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
        render: bool | None = None,
    ) -> UPath:
        """Record the outcome in ``execution_metadata.json`` (status ``success`` or ``failed``).

        Then the whole execution is made durable (on local disk: every file and
        folder synced once; see the ``durable`` option of local stores).

        Parameters
        ----------
        details
            More facts to keep in the metadata (``pyexec-store run`` records
            the exit status, duration and output tails here).
        render
            Also write the execution page (:meth:`render_page`; default: the
            store's ``render_pages``). A failure to render is a logged warning.
        """
        render = self.render_pages if render is None else render
        if render:
            rendering.check_available()  # a missing extra fails before any I/O
        folder = folder_key(self, ctx)
        meta = {
            "status": "success" if success else "failed",
            "finished_at": now_iso(),
            "attempts": ctx.get_next_attempt_number() - 1,
            "figures": ctx.figure_count,
            **(details or {}),
        }
        if error is not None:
            meta["error"] = str(error)
        if render and rendering.page_or_warning(
            self.backend, self.urls, folder, ctx.metadata, meta
        ):
            meta["page"] = layout.PAGE_FILE
        path = self._update_metadata(ctx, meta)
        self.backend.sync(folder)  # a finished execution survives a power loss
        if "page" in meta:
            ctx.folder_url = self.urls.execution_url(folder, page=True)
        return path

    def render_page(self, execution: PythonExecutionContext | ExecutionRef) -> UPath:
        """Write ``execution.html``, the whole execution as one self-contained, offline page.

        ``execution`` is a context, or named as for :meth:`open_execution`. The
        metadata records the page (``"page"``), so links to the execution open
        it without a request more. Needs the ``html`` extra, else raises
        :class:`~pyexec_store.MissingDependencyError`. See docs/views.md.
        """
        rendering.check_available()
        ctx = execution
        if not isinstance(ctx, PythonExecutionContext):
            ctx = self.open_execution(ctx)
        folder = folder_key(self, ctx)
        key = rendering.write_page(self.backend, self.urls, folder, dict(ctx.metadata) or None)
        if ctx.metadata and ctx.metadata.get("page") != layout.PAGE_FILE:
            self._update_metadata(ctx, {"page": layout.PAGE_FILE})
        ctx.folder_url = self.urls.execution_url(folder, page=True)
        return self.backend.upath(key)

    def heartbeat(self, ctx: PythonExecutionContext, interval: float) -> None:
        """Record that the writer of a running execution is alive, and when to expect it next.

        A reader on another host reports an execution whose heartbeat is more
        than three intervals old as ``interrupted``.
        """
        self._update_metadata(ctx, {"heartbeat": now_iso(), "heartbeat_interval": interval})

    def _update_metadata(self, ctx: PythonExecutionContext, changes: Mapping[str, Any]) -> UPath:
        key = f"{folder_key(self, ctx)}/{layout.METADATA_FILE}"
        meta = dict(ctx.metadata) or catalog.read_json(self.backend, key)
        meta.update(changes)
        self.backend.write(key, dumps(meta), content_type=JSON)
        ctx.metadata = meta
        return self.backend.upath(key)

    def delete_execution(self, execution: ExecutionRef | PythonExecutionContext) -> dict[str, int]:
        """Delete a whole execution, safely if interrupted.

        The metadata is marked ``deleting`` first and removed last, so an
        execution cut off half-way lists as ``deleting`` and deleting it again
        finishes the job. Returns the files removed (paths relative to the
        execution folder) with their sizes.
        """
        if isinstance(execution, PythonExecutionContext):
            folder = folder_key(self, execution)
        else:
            folder = catalog.execution_key(self.backend, execution)
        return catalog.delete_execution(self.backend, folder)

    # -- artifacts ----------------------------------------------------------
    def save_context(self, ctx: PythonExecutionContext, data: Mapping[str, Any]) -> UPath:
        """Write ``context.json``, which every notebook's first code cell loads."""
        if not isinstance(data, Mapping):
            raise ConfigTypeError(f"context data must be a mapping, not {type(data).__name__}")
        key = f"{folder_key(self, ctx)}/{layout.CONTEXT_FILE}"
        self.backend.write(key, encode_results(dict(data)).data, content_type=JSON)
        ctx.context_file_path = self.backend.upath(key)
        return ctx.context_file_path

    def save_results(
        self, ctx: PythonExecutionContext, results: Any, *, indent: int | None = 2
    ) -> UPath:
        """Write ``results.json`` (never fails on the data; lossy conversions are logged).

        ``results`` may also be what :func:`~pyexec_store.encode_results`
        returned (encoded elsewhere, say in the process that ran the code).
        """
        key = f"{folder_key(self, ctx)}/{layout.RESULTS_FILE}"
        encoded = (
            results
            if isinstance(results, EncodedResults)
            else encode_results(results, indent=indent)
        )
        for warning in encoded.warnings:
            logger.warning("results.json: %s", warning)
        self.backend.write(key, encoded.data, content_type=JSON)
        return self.backend.upath(key)

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
        folder = folder_key(self, ctx)
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
        folder = folder_key(self, ctx)
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
        folder = folder_key(self, ctx)
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


def _figure_key(store: ArtifactStore, folder: str, figure: StrPath | PurePath) -> str:
    """The key of a figure (relative paths: relative to the execution folder)."""
    text = str(figure)
    if "://" not in text and not os.path.isabs(text):
        return f"{folder}/{text}"
    try:
        return store.key(figure)
    except ConfigError:
        return text  # outside the store: the notebook links its bare name
