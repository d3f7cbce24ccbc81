"""Rendering an execution's page: what the store reads for it, and the one write.

One listing (every file with its size), then one concurrent batch of reads
(metadata, context, results, notebooks, figures); :mod:`~pyexec_store.pages`
builds the HTML from that, and the page is written through the backend like
every other file, so it gets the store's permissions and atomic write.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import catalog, layout
from .backends import Backend
from .errors import MissingDependencyError, StorageError, StorageNotFoundError

if TYPE_CHECKING:
    from .pages import PageData
    from .urls import UrlStrategy

logger = logging.getLogger("pyexec_store")

HTML = "text/html; charset=utf-8"
INSTALL = "pip install 'pyexec-store[html]'"
#: A ``results.json`` larger than this is listed, not shown.
MAX_RESULTS_BYTES = 20_000_000


def available() -> bool:
    """Whether pages can be rendered here (the ``html`` extra is installed); imports nothing."""
    return importlib.util.find_spec("nbconvert") is not None


def check_available() -> None:
    """Raise :class:`~pyexec_store.MissingDependencyError` unless pages can be rendered."""
    if not available():
        raise MissingDependencyError(f"execution pages need nbconvert: {INSTALL}")


def _pages() -> Any:
    try:
        from . import pages
    except ImportError as exc:
        raise MissingDependencyError(f"execution pages need nbconvert ({exc}): {INSTALL}") from None
    return pages


def _parsed(raw: bytes | StorageError | None, where: str) -> Any:
    """A stored JSON document, ``None`` if it is missing; a storage failure is raised."""
    if raw is None or isinstance(raw, StorageNotFoundError):
        return None
    if isinstance(raw, StorageError):
        raise raw
    return catalog.parse_json(raw, where)


def _document(raw: bytes | StorageError | None, where: str) -> Any:
    """Like :func:`_parsed`, but a file that is not JSON is ``None`` (a page shows the rest)."""
    try:
        return _parsed(raw, where)
    except StorageError as exc:
        if exc.operation != "parse":
            raise
        return None


def page_data(
    backend: Backend, urls: UrlStrategy, folder: str, meta: dict[str, Any] | None
) -> PageData:
    """Everything the page of the execution in ``folder`` shows, read from the store.

    ``meta`` is the metadata to show (the store passes what it is about to
    record); ``None`` reads it.
    """
    pages = _pages()
    ex = layout.parse_execution_folder(folder)
    if ex is None:
        raise StorageNotFoundError("render", backend.uri(folder), None, "not an execution folder")
    sizes = backend.find_sizes(folder)
    if not sizes:
        raise StorageNotFoundError("render", backend.uri(folder), None, "nothing stored there")
    attempts = catalog.attempt_files(list(sizes))
    figures = [
        f
        for f in sizes
        if f.startswith(f"{layout.FIGURES_DIR}/") and layout.figure_number(f) is not None
    ]
    wanted = [*attempts, *figures]
    wanted += [f for f in (layout.CONTEXT_FILE, layout.FINAL_NOTEBOOK) if f in sizes]
    results_size = sizes.get(layout.RESULTS_FILE)
    if results_size is not None and results_size <= MAX_RESULTS_BYTES:
        wanted.append(layout.RESULTS_FILE)
    if meta is None and layout.METADATA_FILE in sizes:
        wanted.append(layout.METADATA_FILE)
    got = backend.read_many([f"{folder}/{f}" for f in wanted])

    def raw(name: str) -> bytes | StorageError | None:
        return got.get(f"{folder}/{name}")

    if meta is None:
        found = _document(raw(layout.METADATA_FILE), backend.uri(folder))
        meta = found if isinstance(found, dict) else {}
    data: PageData = pages.PageData(
        folder=folder.rsplit("/", 1)[-1],
        name=meta["name"] if isinstance(meta.get("name"), str) else ex.name,
        execution_id=ex.execution_id,
        status=catalog.status_of(meta),
        metadata=meta,
        files=sizes,
    )
    final = _document(raw(layout.FINAL_NOTEBOOK), layout.FINAL_NOTEBOOK)
    data.final_notebook = final if isinstance(final, dict) else None
    if layout.CONTEXT_FILE in sizes:
        data.context = _document(raw(layout.CONTEXT_FILE), layout.CONTEXT_FILE)
    if results_size is not None and results_size > MAX_RESULTS_BYTES:
        data.results_note = f"results.json holds {results_size:,} bytes: too large to show here."
    elif results_size is not None:
        try:
            data.results = _parsed(raw(layout.RESULTS_FILE), layout.RESULTS_FILE)
        except StorageError as exc:
            if exc.operation != "parse":
                raise
            data.results_note = f"results.json could not be read: {exc.reason}"
    for name in figures:
        png = raw(name)
        if isinstance(png, bytes):
            data.figures[name] = png
        elif isinstance(png, StorageError) and not isinstance(png, StorageNotFoundError):
            raise png
    for name, parsed in attempts.items():
        content = raw(name)
        stored = catalog.stored_attempt(
            backend, urls, f"{folder}/{name}", parsed, content, ex.created_at
        )
        notebook = _document(content, name)
        data.attempts.append(
            pages.AttemptView(
                number=stored.attempt_number,
                stage=stored.stage,
                file=name,
                notebook_type=stored.notebook_type.value,
                created_at=stored.created_at,
                error_context=stored.error_context,
                notebook=notebook if isinstance(notebook, dict) else None,
            )
        )
    return data


def write_page(
    backend: Backend, urls: UrlStrategy, folder: str, meta: dict[str, Any] | None = None
) -> str:
    """Render the page of the execution in ``folder`` and write it; its key."""
    html: str = _pages().render(page_data(backend, urls, folder, meta))
    key = f"{folder}/{layout.PAGE_FILE}"
    backend.write(key, html.encode("utf-8", "replace"), content_type=HTML)
    return key


def page_or_warning(
    backend: Backend,
    urls: UrlStrategy,
    folder: str,
    meta: Mapping[str, Any],
    outcome: Mapping[str, Any],
) -> bool:
    """Write the page of an execution about to record ``outcome``; whether it was written.

    A failure is a logged warning: a view of the execution must never cost its outcome.
    """
    try:
        write_page(backend, urls, folder, {**meta, **outcome})
    except Exception as exc:
        logger.warning("Could not render the page of %s: %s", folder, exc)
        return False
    return True
