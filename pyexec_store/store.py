"""The artifact store: the public API an executor calls, over one backend."""

from __future__ import annotations

import contextlib
import fnmatch
import io
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import PurePath
from typing import Any

import orjson
from upath import UPath

from . import layout, notebooks
from .backends import Backend, WriteItem, get_backend
from .errors import (
    ConfigError,
    ConfigTypeError,
    StorageError,
    StorageExistsError,
)
from .models import ExecutionInfo, NotebookAttempt, NotebookType, PythonExecutionContext
from .results import decode_results, encode_results
from .urls import UrlOptions, UrlStrategy, make_strategy

logger = logging.getLogger("pyexec_store")

DEFAULT_URL = "./_agent_data"
JSON = "application/json"
IPYNB = "application/x-ipynb+json"
PNG = "image/png"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_RETRIES = 100  # numbers tried before giving up (each taken by another writer)

StrPath = str | os.PathLike[str] | UPath


def _version() -> str:
    from . import __version__

    return __version__


def _dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2)


class ArtifactStore:
    """Where an executor keeps what every execution leaves behind.

    Open one with :func:`open_store`. Every method takes and returns paths as
    :class:`upath.UPath` (a ``pathlib.Path`` on local disk) inside the store.

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
        return (
            f"ArtifactStore({self.backend.describe()!r}, url_strategy={type(self.urls).__name__})"
        )

    @property
    def root(self) -> UPath:
        """The store's root folder."""
        root: UPath = UPath(self.backend.describe(), **self.backend.storage_options)
        return root

    # -- paths --------------------------------------------------------------
    def _rel(self, path: StrPath | PurePath) -> str:
        """The root-relative path of a path inside the store."""
        return self.backend.relative(str(path) if isinstance(path, UPath) else os.fspath(path))

    def _folder(self, ctx: PythonExecutionContext) -> str:
        if not isinstance(ctx, PythonExecutionContext):
            raise ConfigTypeError(f"expected a PythonExecutionContext, not {type(ctx).__name__}")
        if ctx.folder_path is None:
            raise ConfigError("the execution context has no folder: create_execution() first")
        return self._rel(ctx.folder_path)

    def url(self, path: StrPath | PurePath, *, expires: int | None = None) -> str:
        """A link to a stored file, by the store's URL strategy.

        Parameters
        ----------
        path
            A path inside the store (as returned by the other methods).
        expires
            Lifetime in seconds, for strategies whose links expire.
        """
        return self.urls.url(self._rel(path), expires=expires)

    # -- lifecycle ----------------------------------------------------------
    def create_execution(self, name: str = layout.DEFAULT_NAME) -> PythonExecutionContext:
        """Claim a new execution folder.

        The folder is claimed by an exclusive create of its
        ``execution_metadata.json`` (status ``running``), so no two executions
        can ever share one.

        Parameters
        ----------
        name
            A descriptive name; reduced to ``[A-Za-z0-9._-]``, at most 64 characters.
        """
        for _ in range(3):
            ex = layout.new_execution(name)
            meta = {
                "execution_id": ex.execution_id,
                "name": ex.name,
                "created_at": ex.created_at.isoformat(),
                "status": "running",
                "finished_at": None,
                "pyexec_store_version": _version(),
            }
            folder_url = self.urls.folder_url(ex.folder)  # before the claim: nothing orphaned
            self.backend.makedirs(f"{ex.folder}/{layout.ATTEMPTS_DIR}")
            try:
                self.backend.write(
                    f"{ex.folder}/{layout.METADATA_FILE}",
                    _dumps(meta),
                    exclusive=True,
                    content_type=JSON,
                )
            except StorageExistsError:
                continue
            break
        else:  # pragma: no cover - three uuid4 collisions in one second
            raise StorageExistsError("claim", ex.folder, self.backend.endpoint(), "taken")
        ctx = PythonExecutionContext(
            folder_path=self.backend.upath(ex.folder),
            folder_url=folder_url,
            attempts_folder=self.backend.upath(f"{ex.folder}/{layout.ATTEMPTS_DIR}"),
        )
        ctx._metadata = meta
        logger.info("Created execution folder: %s", ctx.folder_path)
        return ctx

    def finish_execution(
        self, ctx: PythonExecutionContext, success: bool = True, error: str | None = None
    ) -> UPath:
        """Record the outcome in ``execution_metadata.json`` (status ``success`` or ``failed``)."""
        folder = self._folder(ctx)
        meta = dict(ctx._metadata) or self._read_json(f"{folder}/{layout.METADATA_FILE}")
        meta.update(
            status="success" if success else "failed",
            finished_at=datetime.now().isoformat(timespec="seconds"),
            attempts=ctx.get_next_attempt_number() - 1,
        )
        if error is not None:
            meta["error"] = str(error)
        rel = f"{folder}/{layout.METADATA_FILE}"
        self.backend.write(rel, _dumps(meta), content_type=JSON)
        ctx._metadata = meta
        return self.backend.upath(rel)

    def open_execution(self, folder_path: StrPath | PurePath) -> PythonExecutionContext:
        """Resume an execution: numbering continues after what is stored.

        Raises
        ------
        StorageNotFoundError
            If ``folder_path`` holds no execution.
        """
        folder = self._rel(folder_path).rstrip("/")
        ex = layout.parse_execution_folder(folder)
        if ex is None:
            raise ConfigError(f"{folder_path} is not an execution folder")
        meta = self._read_json(f"{folder}/{layout.METADATA_FILE}")
        files = self.backend.find(folder)  # one listing for attempts, figures and context
        ctx = PythonExecutionContext(
            folder_path=self.backend.upath(folder),
            folder_url=self.urls.folder_url(folder),
            attempts_folder=self.backend.upath(f"{folder}/{layout.ATTEMPTS_DIR}"),
            context_file_path=(
                self.backend.upath(f"{folder}/{layout.CONTEXT_FILE}")
                if layout.CONTEXT_FILE in files
                else None
            ),
        )
        ctx._metadata = meta
        day = f"{ex.created_at:%Y-%m-%d}"
        for name in files:
            in_attempts = name.startswith(f"{layout.ATTEMPTS_DIR}/") and name.count("/") == 1
            attempt = layout.parse_attempt(name) if in_attempts else None
            if attempt is None:
                continue
            rel = f"{folder}/{name}"
            t = attempt.time
            ctx.add_notebook_attempt(
                NotebookAttempt(
                    notebook_type=NotebookType.EXECUTION_ATTEMPT,
                    attempt_number=attempt.number,
                    stage=attempt.stage,
                    notebook_path=self.backend.upath(rel),
                    notebook_link=self.urls.url(rel),
                    # Names keep the time of day only: the date is the execution's.
                    created_at=f"{day}T{t[:2]}:{t[2:4]}:{t[4:]}",
                )
            )
        ctx.notebook_attempts.sort(key=lambda a: a.attempt_number)
        figures = [
            layout.figure_number(f)
            for f in files
            if f.startswith(f"{layout.FIGURES_DIR}/") and f.count("/") == 1
        ]
        ctx._last_figure = max([n for n in figures if n is not None], default=0)
        return ctx

    # -- artifacts ----------------------------------------------------------
    def save_context(self, ctx: PythonExecutionContext, data: Mapping[str, Any]) -> UPath:
        """Write ``context.json``, which every notebook's first code cell loads."""
        if not isinstance(data, Mapping):
            raise ConfigTypeError(f"context data must be a mapping, not {type(data).__name__}")
        rel = f"{self._folder(ctx)}/{layout.CONTEXT_FILE}"
        self.backend.write(rel, encode_results(dict(data)).data, content_type=JSON)
        path = self.backend.upath(rel)
        ctx.context_file_path = path
        return path

    def load_context(self, ctx: PythonExecutionContext) -> dict[str, Any]:
        """The dict saved by :meth:`save_context`."""
        data = self._read_json(f"{self._folder(ctx)}/{layout.CONTEXT_FILE}")
        if not isinstance(data, dict):
            raise ConfigError("context.json does not hold an object")
        return data

    def save_results(
        self, ctx: PythonExecutionContext, results: Any, *, indent: int | None = 2
    ) -> UPath:
        """Write ``results.json`` (never fails on the data; lossy conversions are logged)."""
        encoded = encode_results(results, indent=indent)
        for warning in encoded.warnings:
            logger.warning("results.json: %s", warning)
        rel = f"{self._folder(ctx)}/{layout.RESULTS_FILE}"
        self.backend.write(rel, encoded.data, content_type=JSON)
        return self.backend.upath(rel)

    def load_results(self, ctx: PythonExecutionContext) -> Any:
        """The parsed ``results.json`` (integers beyond 64 bits exact)."""
        return self._read_json(f"{self._folder(ctx)}/{layout.RESULTS_FILE}")

    def save_figure(self, ctx: PythonExecutionContext, figure: Any) -> UPath:
        """Write the next ``figures/figure_NN.png``.

        Parameters
        ----------
        figure
            PNG bytes, a matplotlib figure (anything with ``savefig``), or the
            ``os.PathLike`` of a local PNG file.
        """
        return self.save_figures(ctx, [figure])[0]

    def save_figures(self, ctx: PythonExecutionContext, figures: Iterable[Any]) -> list[UPath]:
        """Write several figures at once (sent concurrently where the storage allows).

        Each figure takes the next free number; one whose number another writer
        took (a resumed copy of this execution) is written again under a new one.
        """
        folder = self._folder(ctx)
        pngs = [_png_bytes(f) for f in figures]
        written: dict[int, str] = {}
        pending = list(range(len(pngs)))
        for _ in range(_RETRIES):
            if not pending:
                return [self.backend.upath(written[i]) for i in range(len(pngs))]
            items = [
                WriteItem(layout.figure_file(folder, ctx._allocate_figure()), pngs[i], True, PNG)
                for i in pending
            ]
            outcomes = self.backend.write_many(items)
            retry = []
            for i, item, outcome in zip(pending, items, outcomes, strict=True):
                if outcome is None:
                    written[i] = item.path
                elif isinstance(outcome, StorageExistsError):
                    retry.append(i)
                else:
                    raise outcome
            pending = retry
        raise StorageExistsError("write", f"{folder}/figures", None, "no free figure number")

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

        Numbers are handed out under the context's lock and the notebook is
        written with an exclusive create, so threads sharing a context never
        share a number and no notebook is ever overwritten. (Two processes that
        each resume the same execution keep separate counts: their notebooks
        never overwrite each other, but their numbers may repeat.)
        """
        for name, value in (("code", code), ("stage", stage)):
            if not isinstance(value, str):
                raise ConfigTypeError(f"{name} must be a str, not {type(value).__name__}")
        folder = self._folder(ctx)
        if ctx.context_file_path is None:
            logger.warning("Context file not found when creating notebook: %s", folder)
        for _ in range(_RETRIES):
            number = ctx._allocate_attempt()
            rel = layout.attempt_file(folder, number, stage)
            link = self.urls.url(rel)  # before writing: a bad link setting must not orphan a file
            notebook = notebooks.attempt_notebook(
                number,
                stage,
                code,
                error_context=error_context,
                approval_context=approval_context,
                with_context=ctx.context_file_path is not None,
            )
            try:
                self.backend.write(
                    rel, notebooks.to_bytes(notebook), exclusive=True, content_type=IPYNB
                )
                break
            except StorageExistsError:
                continue
        else:  # pragma: no cover - a hundred numbers taken by other writers
            raise StorageExistsError("write", f"{folder}/attempts", None, "no free number")
        path = self.backend.upath(rel)
        with ctx._lock:
            ctx.add_notebook_attempt(
                NotebookAttempt(
                    notebook_type=notebook_type,
                    attempt_number=number,
                    stage=stage,
                    notebook_path=path,
                    notebook_link=link,
                    error_context=error_context,
                )
            )
        return path

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
        links = [self._figure_link(folder, f) for f in figure_paths or []]
        notebook = notebooks.final_notebook(
            code,
            results=results,
            error_context=error_context,
            figure_paths=links,
            execution_folder=folder,
            with_context=ctx.context_file_path is not None,
        )
        rel = f"{folder}/{layout.FINAL_NOTEBOOK}"
        self.backend.write(rel, notebooks.to_bytes(notebook), content_type=IPYNB)
        logger.info("Created final notebook: %s", rel)
        return self.backend.upath(rel)

    def _figure_link(self, folder: str, figure: StrPath | PurePath) -> str:
        text = str(figure)
        if "://" not in text and not os.path.isabs(text):
            # A relative figure path means relative to the execution folder.
            return f"{folder}/{text}"
        try:
            return self._rel(figure)
        except ConfigError:
            return text  # outside the store: the notebook links its bare name

    # -- listing ------------------------------------------------------------
    def list_executions(
        self,
        name: str | None = None,
        since: datetime | Any = None,
        status: str | None = None,
    ) -> list[ExecutionInfo]:
        """The executions in the store, oldest first.

        Parameters
        ----------
        name
            Keep executions with this name (as given to :meth:`create_execution`),
            or matching this shell pattern (``"sensor_*"``) on the stored name.
        since
            A ``datetime``, a ``timedelta`` or an age like ``"7d"``.
        status
            ``running``, ``success`` or ``failed``.
        """
        since_dt = layout.parse_since(since)
        if name is not None and not any(c in name for c in "*?["):
            name = layout.sanitize_name(name)  # the name as given to create_execution
        months = layout.month_folders_since(self.backend.listdir(layout.SCRIPTS_DIR), since_dt)
        found: list[layout.ExecutionName] = []
        for month in months:
            for leaf in self.backend.listdir(f"{layout.SCRIPTS_DIR}/{month}"):
                parsed = layout.parse_execution_folder(f"{layout.SCRIPTS_DIR}/{month}/{leaf}")
                if parsed is None:
                    continue
                if name is not None and not fnmatch.fnmatchcase(parsed.name, name):
                    continue
                if since_dt is not None and parsed.created_at < since_dt:
                    continue
                found.append(parsed)
        metas = self.backend.read_many([f"{f.folder}/{layout.METADATA_FILE}" for f in found])
        rows = []
        for ex in found:
            raw = metas.get(f"{ex.folder}/{layout.METADATA_FILE}")
            meta = _parse_metadata(raw)
            row_status = str(meta.get("status", "unknown"))
            created = ex.created_at
            with contextlib.suppress(KeyError, TypeError, ValueError):
                # The metadata's time has microseconds: it orders executions within a second.
                created = datetime.fromisoformat(meta["created_at"])
            if status is not None and row_status != status:
                continue
            rows.append(
                ExecutionInfo(
                    path=self.backend.upath(ex.folder),
                    name=ex.name,
                    execution_id=ex.execution_id,
                    created_at=created,
                    status=row_status,
                    url=self.urls.folder_url(ex.folder),
                )
            )
        rows.sort(key=lambda r: (r.created_at, r.execution_id))
        return rows

    # -- helpers ------------------------------------------------------------
    def _read_json(self, rel: str) -> Any:
        data = self.backend.read(rel)
        try:
            return decode_results(data)
        except ValueError as exc:
            raise StorageError(
                "parse", self.backend.uri(rel), None, f"not valid JSON: {exc}"
            ) from None


def _parse_metadata(raw: bytes | StorageError | None) -> dict[str, Any]:
    if not isinstance(raw, bytes):
        return {}
    try:
        meta = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _png_bytes(figure: Any) -> bytes:
    if isinstance(figure, (bytes, bytearray, memoryview)):
        data = bytes(figure)
    elif hasattr(figure, "savefig"):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        data = buffer.getvalue()
    elif isinstance(figure, os.PathLike):
        with open(figure, "rb") as f:
            data = f.read()
    else:
        raise ConfigTypeError(
            f"a figure must be PNG bytes, a matplotlib figure or a PNG file path, "
            f"not {type(figure).__name__}"
        )
    if not data.startswith(_PNG_MAGIC):
        raise ConfigError("figure data is not a PNG image (no PNG signature)")
    return data


def open_store(
    url: str | os.PathLike[str] | None = None,
    *,
    url_strategy: str | None = None,
    url_expires: int = 3600,
    public_endpoint_url: str | None = None,
    jupyter_base_url: str | None = None,
    jupyter_prefix: str | None = None,
    permissions: str | int | None = None,
    **storage_options: Any,
) -> ArtifactStore:
    """Open the store at ``url``.

    Parameters
    ----------
    url
        A local path, ``file://``, ``memory://``, ``s3://bucket/prefix`` or any
        fsspec URL. Default: ``$PYEXEC_STORE_URL``, else ``./_agent_data``.
    url_strategy
        ``"file"``, ``"jupyter"`` or ``"presigned"``; default by backend
        (local and memory: ``file``, S3: ``presigned``).
    url_expires
        Lifetime of presigned links in seconds (at most 7 days).
    public_endpoint_url
        The S3 host a browser reaches; presigned links are signed for it.
    jupyter_base_url, jupyter_prefix
        For ``jupyter`` links (default ``http://localhost:8088`` and ``executed_scripts``).
    permissions
        Local stores only: ``"group"`` (default), ``"container"``, ``"private"`` or an int mode.
    **storage_options
        Passed to the fsspec filesystem (``endpoint_url``, ``key``, ``secret``, …).

    Raises
    ------
    ConfigError, ConfigTypeError
        For bad arguments, before any I/O.
    MissingDependencyError
        When the backend's extra is not installed.
    """
    options = UrlOptions(
        expires=url_expires,
        public_endpoint_url=public_endpoint_url,
        jupyter_base_url=jupyter_base_url or UrlOptions.jupyter_base_url,
        jupyter_prefix=jupyter_prefix if jupyter_prefix is not None else UrlOptions.jupyter_prefix,
    )
    if url is None:
        url = os.environ.get("PYEXEC_STORE_URL") or DEFAULT_URL
    backend = get_backend(url, permissions=permissions, **storage_options)
    return ArtifactStore(backend, make_strategy(url_strategy, backend, options))
