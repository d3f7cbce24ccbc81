"""Pieces of the write path: claiming the next free name, metadata, figure bytes."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from . import layout, liveness, notebooks
from .backends import Backend, WriteItem
from .errors import ConfigError, ConfigTypeError, StorageExistsError
from .layout import ExecutionName
from .models import NotebookAttempt, NotebookType, PythonExecutionContext

if TYPE_CHECKING:
    from .urls import UrlStrategy

JSON = "application/json"
IPYNB = "application/x-ipynb+json"
PNG = "image/png"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RETRIES = 100  # names tried before giving up (each taken by another writer)


def dumps(obj: Any) -> bytes:
    """A metadata document as indented JSON."""
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2)


def claim_next(backend: Backend, count: int, item_for: Callable[[int], WriteItem]) -> list[str]:
    """Write ``count`` items, each exclusively under the next free name; their keys.

    ``item_for(i)`` builds item ``i`` under a fresh name each call (a new
    execution id, the next attempt or figure number); an item whose name
    another writer took is built and written again. Executions, attempts and
    figures are all claimed this way.
    """
    written: dict[int, str] = {}
    pending = list(range(count))
    for _ in range(RETRIES):
        items = [item_for(i) for i in pending]
        retry = []
        for i, item, outcome in zip(pending, items, backend.write_many(items), strict=True):
            if outcome is None:
                written[i] = item.path
            elif isinstance(outcome, StorageExistsError):
                retry.append(i)
            else:
                raise outcome
        pending = retry
        if not pending:
            return [written[i] for i in range(count)]
    raise StorageExistsError("claim", items[0].path, backend.endpoint(), "no free name")


def claim_execution(backend: Backend, urls: UrlStrategy, name: str) -> tuple[str, dict[str, Any]]:
    """Claim a new execution folder: its key and the metadata it was claimed with.

    The claim is an exclusive create of its metadata (status ``running``), so
    no two executions ever share a folder.
    """
    claimed: dict[str, tuple[str, dict[str, Any]]] = {}

    def claim(_: int) -> WriteItem:
        ex = layout.new_execution(name)
        meta = new_metadata(ex, name)
        urls.folder_url(ex.folder)  # before the claim: a bad link setting orphans nothing
        # The execution folder and attempts/ are where a container user works.
        backend.makedirs(f"{ex.folder}/{layout.ATTEMPTS_DIR}", shared_from=ex.folder)
        key = f"{ex.folder}/{layout.METADATA_FILE}"
        claimed[key] = (ex.folder, meta)
        return WriteItem(key, dumps(meta), True, JSON)

    (key,) = claim_next(backend, 1, claim)
    return claimed[key]


def new_metadata(ex: ExecutionName, name: str) -> dict[str, Any]:
    """The metadata a new execution is claimed with (status ``running``).

    ``writer`` names the host and process writing it, so a reader can tell an
    execution whose writer died from one still running.
    """
    from . import __version__

    return {
        "execution_id": ex.execution_id,
        "name": name,
        "created_at": ex.created_at.isoformat(),
        "status": "running",
        "finished_at": None,
        "writer": liveness.writer(),
        "pyexec_store_version": __version__,
    }


def new_attempt(
    backend: Backend,
    urls: UrlStrategy,
    ctx: PythonExecutionContext,
    folder: str,
    code: str,
    stage: str,
    error_context: str | None,
    approval_context: str | None,
    notebook_type: NotebookType,
) -> tuple[NotebookAttempt, WriteItem]:
    """The next attempt of ``ctx`` (its number claimed now) and the notebook to write.

    The notebook's ``metadata.pyexec_store`` records number, stage, type,
    time and error context, so a resumed execution reads them back exactly.
    """
    number = ctx.claim_attempt_number()
    key = layout.attempt_file(folder, number, stage)
    attempt = NotebookAttempt(
        notebook_type=notebook_type,
        attempt_number=number,
        stage=stage,
        notebook_path=backend.upath(key),
        notebook_link=urls.url(key),  # before writing: a bad link setting orphans nothing
        error_context=error_context,
    )
    notebook = notebooks.attempt_notebook(
        number,
        stage,
        code,
        error_context=error_context,
        approval_context=approval_context,
        with_context=ctx.context_file_path is not None,
        metadata={
            "attempt_number": number,
            "stage": stage,
            "notebook_type": notebook_type.value,
            "created_at": attempt.created_at,
            "error_context": error_context,
        },
    )
    return attempt, WriteItem(key, notebooks.to_bytes(notebook), True, IPYNB)


def png_bytes(figure: Any) -> bytes:
    """The PNG bytes of a figure: bytes, a matplotlib figure, or a PNG file's path."""
    if isinstance(figure, (bytes, bytearray, memoryview)):
        data = bytes(figure)
    elif hasattr(figure, "savefig"):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        data = buffer.getvalue()
    elif isinstance(figure, (str, os.PathLike)):
        with open(figure, "rb") as f:
            data = f.read()
    else:
        raise ConfigTypeError(
            "a figure must be PNG bytes, a matplotlib figure or the path of a PNG file "
            f"(str or os.PathLike), not {type(figure).__name__}"
        )
    if not data.startswith(PNG_MAGIC):
        raise ConfigError("figure data is not a PNG image (no PNG signature)")
    return data
