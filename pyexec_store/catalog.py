"""Finding executions again: listing, resolving a reference, reading what they hold.

The store's read side, on top of the backend contract. On S3 a listing is
one LIST per month folder plus the metadata files read concurrently, never a
request per execution for the listing itself.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from upath import UPath

from . import layout, liveness
from .backends import Backend
from .errors import ConfigError, ConfigTypeError, StorageError, StorageNotFoundError
from .models import (
    STATUSES,
    ExecutionInfo,
    NotebookAttempt,
    NotebookType,
    PythonExecutionContext,
    Status,
)
from .results import decode_results
from .writing import JSON, dumps

if TYPE_CHECKING:
    from .urls import UrlStrategy


def parse_json(data: bytes, where: str) -> Any:
    """The one way stored JSON is read: exact integers, a :class:`StorageError` if invalid."""
    try:
        return decode_results(data)
    except ValueError as exc:
        raise StorageError("parse", where, None, f"not valid JSON: {exc}") from None


def read_json(backend: Backend, key: str) -> Any:
    """The parsed JSON document at ``key``."""
    return parse_json(backend.read(key), backend.uri(key))


def check_status(status: object) -> Status | None:
    """``status`` if it is one of :data:`~pyexec_store.models.STATUSES` (or ``None``)."""
    if status is None:
        return None
    if isinstance(status, str) and status in STATUSES:
        return cast(Status, status)
    raise ConfigError(f"unknown status {status!r}; choose one of {', '.join(STATUSES)}")


def status_of(meta: dict[str, Any]) -> Status:
    """The status of an execution from its metadata.

    ``unknown`` when it records none we know; ``interrupted`` when it says
    ``running`` but its writer is gone (:mod:`~pyexec_store.liveness`).
    """
    status = meta.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        return "unknown"
    if status == "running" and liveness.is_interrupted(meta):
        return "interrupted"
    return cast(Status, status)


def _time(value: object) -> datetime | None:
    """A stored ISO time, timezone-aware (a naive one, as older files hold, is local)."""
    if not isinstance(value, str):
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value).astimezone()
    return None


def execution_key(backend: Backend, ref: object) -> str:
    """The folder key of an execution named by id, folder name, path, URL or key.

    Raises
    ------
    StorageNotFoundError
        For an id no execution has.
    ConfigError
        For an id several executions share, or a path that is no execution folder.
    """
    if isinstance(ref, ExecutionInfo):
        ref = ref.path
    if not isinstance(ref, (str, os.PathLike, UPath)):
        raise ConfigTypeError(
            f"an execution is named by id, folder name or path, not {type(ref).__name__}"
        )
    text = str(ref) if isinstance(ref, UPath) else os.fspath(ref)
    text = text.rstrip("/")
    if layout.is_execution_id(text):
        return _key_of_id(backend, text)
    key = layout.folder_of_leaf(text) or backend.relative(text)
    if layout.parse_execution_folder(key) is None or not key.startswith(layout.SCRIPTS_DIR + "/"):
        raise ConfigError(f"{text!r} is not an execution folder")
    return key


def _key_of_id(backend: Backend, execution_id: str) -> str:
    found = [ex.folder for ex in _folders(backend, None) if ex.execution_id == execution_id]
    if not found:
        raise StorageNotFoundError("find", f"execution {execution_id}", None, "no such execution")
    if len(found) > 1:
        raise ConfigError(
            f"execution id {execution_id} is ambiguous: {', '.join(found)}; name the folder"
        )
    return found[0]


def _folders(backend: Backend, since: datetime | None) -> list[layout.ExecutionName]:
    """Every execution folder (of a month at or after ``since``): one listing per month."""
    months = layout.month_folders_since(backend.listdir(layout.SCRIPTS_DIR), since)
    found = []
    for month in months:
        for leaf in backend.listdir(f"{layout.SCRIPTS_DIR}/{month}"):
            with contextlib.suppress(ConfigError):  # a name no key can hold
                parsed = layout.parse_execution_folder(f"{layout.SCRIPTS_DIR}/{month}/{leaf}")
                if parsed is not None:
                    layout.check_relative(parsed.folder)
                    found.append(parsed)
    return found


def list_executions(
    backend: Backend,
    urls: UrlStrategy,
    name: str | None = None,
    since: object = None,
    status: str | None = None,
) -> list[ExecutionInfo]:
    """The executions in the store, oldest first (see :meth:`ArtifactStore.list_executions`)."""
    wanted = check_status(status)
    since_dt = layout.parse_since(since)
    if name is not None and not isinstance(name, str):
        raise ConfigTypeError(f"name must be a str, not {type(name).__name__}")
    pattern = name is not None and any(c in name for c in "*?[")
    # Folders hold the safe form of a name; the original module's, the name as given.
    folder_names = {name, layout.sanitize_name(name)} if name is not None else set()
    # A folder's name holds its time to the second; the metadata, to the microsecond.
    since_second = since_dt.replace(microsecond=0) if since_dt is not None else None
    folders = [
        ex
        for ex in _folders(backend, since_dt)
        if (since_second is None or ex.created_at >= since_second)
        and (name is None or pattern or ex.name in folder_names)
    ]
    metas = backend.read_many([f"{ex.folder}/{layout.METADATA_FILE}" for ex in folders])
    rows = []
    for ex in folders:
        raw = metas.get(f"{ex.folder}/{layout.METADATA_FILE}")
        meta: Any = {}
        if isinstance(raw, bytes):
            with contextlib.suppress(StorageError):
                meta = parse_json(raw, ex.folder)
        row = info(backend, urls, ex, meta if isinstance(meta, dict) else {})
        if since_dt is not None and row.created_at < since_dt:
            continue
        if wanted is not None and row.status != wanted:
            continue
        if name is not None and not (
            row.name == name
            or (
                pattern
                and (fnmatch.fnmatchcase(row.name, name) or fnmatch.fnmatchcase(ex.name, name))
            )
        ):
            continue
        rows.append(row)
    rows.sort(key=lambda r: (r.created_at, r.execution_id))
    return rows


def info(
    backend: Backend, urls: UrlStrategy, ex: layout.ExecutionName, meta: dict[str, Any]
) -> ExecutionInfo:
    """One row of a listing, from the folder's name and its metadata (which may be empty)."""
    attempts, figures, error = meta.get("attempts"), meta.get("figures"), meta.get("error")
    given = meta.get("name")
    return ExecutionInfo(
        path=backend.upath(ex.folder),
        name=given if isinstance(given, str) else ex.name,
        execution_id=ex.execution_id,
        # The metadata's time has microseconds: it orders executions within a second.
        created_at=_time(meta.get("created_at")) or ex.created_at,
        status=status_of(meta),
        url=urls.execution_url(ex.folder, page=meta.get("page") == layout.PAGE_FILE),
        finished_at=_time(meta.get("finished_at")),
        attempts=_count(attempts),
        error=str(error) if error is not None else None,
        figures=_count(figures),
    )


def load_notebook(backend: Backend, key: str) -> Any:
    """The notebook at ``key``, read and validated: an ``nbformat.NotebookNode``."""
    import nbformat

    try:
        text = backend.read(key).decode("utf-8")
        notebook = nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
        nbformat.validate(notebook)
    except (ValueError, TypeError, KeyError, AttributeError, nbformat.ValidationError) as exc:
        where = backend.uri(key)
        raise StorageError("load", where, None, f"not a valid notebook: {exc}") from None
    return notebook


def new_context(
    backend: Backend, urls: UrlStrategy, folder: str, meta: dict[str, Any]
) -> PythonExecutionContext:
    """The context of the execution in ``folder``."""
    return PythonExecutionContext(
        folder_path=backend.upath(folder),
        folder_url=urls.execution_url(folder, page=meta.get("page") == layout.PAGE_FILE),
        attempts_folder=backend.upath(f"{folder}/{layout.ATTEMPTS_DIR}"),
        folder_key=folder,
        metadata=meta,
    )


def open_execution(backend: Backend, urls: UrlStrategy, ref: object) -> PythonExecutionContext:
    """Resume an execution (see :meth:`ArtifactStore.open_execution`).

    One listing, then the metadata and every attempt notebook in one
    concurrent batch.
    """
    folder = execution_key(backend, ref)
    ex = layout.parse_execution_folder(folder)
    assert ex is not None  # execution_key checked it
    files = backend.find(folder)
    if not files:
        raise StorageNotFoundError("open", backend.uri(folder), None, "nothing stored there")
    meta_key = f"{folder}/{layout.METADATA_FILE}"
    attempts = attempt_files(files)
    wanted = [f"{folder}/{f}" for f in attempts]
    if layout.METADATA_FILE in files:
        wanted.append(meta_key)
    contents = backend.read_many(wanted)
    meta: Any = {}
    if meta_key in contents:
        raw = contents[meta_key]
        if isinstance(raw, StorageError):
            raise raw
        meta = parse_json(raw, backend.uri(meta_key))
    ctx = new_context(backend, urls, folder, meta if isinstance(meta, dict) else {})
    if layout.CONTEXT_FILE in files:
        ctx.context_file_path = backend.upath(f"{folder}/{layout.CONTEXT_FILE}")
    for f, name in sorted(attempts.items(), key=lambda item: item[1].number):
        key = f"{folder}/{f}"
        attempt = stored_attempt(backend, urls, key, name, contents.get(key), ex.created_at)
        ctx.add_notebook_attempt(attempt)
    figures = [layout.figure_number(f) for f in files if f.startswith(f"{layout.FIGURES_DIR}/")]
    ctx.figure_count = max([n for n in figures if n is not None], default=0)
    return ctx


def delete_execution(backend: Backend, folder: str) -> dict[str, int]:
    """Delete the execution in ``folder``: marked ``deleting`` first, its metadata last.

    An archive manifest goes before anything else, so an archived execution
    cut off half-way is no longer taken for a complete one. Returns the files
    removed, with their sizes.
    """
    files = backend.find_sizes(folder)
    meta_key = f"{folder}/{layout.METADATA_FILE}"
    if layout.ARCHIVE_MANIFEST in files:
        backend.delete([f"{folder}/{layout.ARCHIVE_MANIFEST}"])
    meta: Any = {}
    if layout.METADATA_FILE in files:
        with contextlib.suppress(StorageError):
            meta = read_json(backend, meta_key)
    marker = {**(meta if isinstance(meta, dict) else {}), "status": "deleting"}
    backend.write(meta_key, dumps(marker), content_type=JSON)
    rest = (layout.METADATA_FILE, layout.ARCHIVE_MANIFEST)
    backend.delete([f"{folder}/{f}" for f in files if f not in rest])
    backend.delete([meta_key])
    return files


def attempt_files(files: Sequence[str]) -> dict[str, layout.AttemptName]:
    """The attempt notebooks among an execution's files, by their name."""
    found = {}
    for f in files:
        if f.startswith(f"{layout.ATTEMPTS_DIR}/") and f.count("/") == 1:
            parsed = layout.parse_attempt(f)
            if parsed is not None:
                found[f] = parsed
    return found


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def stored_attempt(
    backend: Backend,
    urls: UrlStrategy,
    key: str,
    name: layout.AttemptName,
    raw: bytes | StorageError | None,
    day: datetime,
) -> NotebookAttempt:
    """An attempt notebook as recorded when it was written.

    Its ``metadata.pyexec_store`` holds number, stage, type, time and error
    context; a notebook without it (written by the original module) is
    described from its file name, on the execution's day.
    """
    recorded = _recorded(raw)
    kind = recorded.get("notebook_type")
    created = recorded.get("created_at")
    error = recorded.get("error_context")
    t = name.time
    at = day.replace(hour=int(t[:2]), minute=int(t[2:4]), second=int(t[4:6]), microsecond=0)
    return NotebookAttempt(
        notebook_type=NotebookType(kind)
        if kind in {k.value for k in NotebookType}
        else NotebookType.EXECUTION_ATTEMPT,
        attempt_number=name.number,
        stage=str(recorded.get("stage", name.stage)),
        notebook_path=backend.upath(key),
        notebook_link=urls.url(key),
        error_context=error if isinstance(error, str) else None,
        created_at=created if isinstance(created, str) else at.isoformat(),
    )


def _recorded(raw: bytes | StorageError | None) -> dict[str, Any]:
    if not isinstance(raw, bytes):
        return {}
    try:
        notebook = parse_json(raw, "notebook")
    except StorageError:
        return {}
    found = notebook.get("metadata", {}).get("pyexec_store") if isinstance(notebook, dict) else None
    return found if isinstance(found, dict) else {}
