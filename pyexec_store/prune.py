"""Deleting old executions, whole, through :meth:`ArtifactStore.delete_execution`.

Each execution is marked ``deleting`` before its files go and loses its
metadata last, so a prune cut off half-way leaves executions listed as
``deleting``, and the next prune finishes them. An archived execution loses
its manifest first: never half-deleted and still taken for archived. Running
executions are never touched. On S3, listings page through any number of
objects and deletes go 1000 keys per request, every key accounted for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .catalog import check_status
from .config import open_store
from .errors import ConfigError, PyExecStoreError
from .layout import parse_since
from .store import ArtifactStore
from .units import human_size

#: Executions deleted at once.
CONCURRENCY = 4


@dataclass
class PrunedExecution:
    """One execution a prune removed (or, in a dry run, would remove)."""

    folder: str
    execution_id: str
    name: str
    status: str
    created_at: datetime
    files: int = 0
    bytes: int = 0
    deleted: bool = False
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "execution_id": self.execution_id,
            "name": self.name,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "files": self.files,
            "bytes": self.bytes,
            "deleted": self.deleted,
            "error": self.error,
        }


@dataclass
class PruneReport:
    """What :func:`prune` removed: executions, files, bytes, and what failed."""

    store: str
    cutoff: datetime
    dry_run: bool = False
    executions: list[PrunedExecution] = field(default_factory=list)

    @property
    def removed(self) -> list[PrunedExecution]:
        return [e for e in self.executions if e.deleted or (self.dry_run and e.error is None)]

    @property
    def failed(self) -> list[PrunedExecution]:
        return [e for e in self.executions if e.error is not None]

    @property
    def files(self) -> int:
        return sum(e.files for e in self.removed)

    @property
    def bytes(self) -> int:
        return sum(e.bytes for e in self.removed)

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        text = (
            f"{verb} {len(self.removed)} executions, {self.files} files, {human_size(self.bytes)}"
        )
        return text + (f"; {len(self.failed)} failed" if self.failed else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "cutoff": self.cutoff.isoformat(),
            "dry_run": self.dry_run,
            "removed": len(self.removed),
            "files": self.files,
            "bytes": self.bytes,
            "failed": len(self.failed),
            "executions": [e.to_dict() for e in self.executions],
        }


def _store(store: ArtifactStore | str | os.PathLike[str]) -> ArtifactStore:
    return store if isinstance(store, ArtifactStore) else open_store(store)


def find_prunable(
    store: ArtifactStore | str | os.PathLike[str],
    older_than: Any,
    *,
    status: str | None = None,
    name: str | None = None,
    sizes: bool = True,
) -> PruneReport:
    """The executions :func:`prune` would delete, with their files and bytes (a dry run).

    Reads only: one listing per month, the metadata, and (``sizes``) one
    listing per execution.
    """
    store = _store(store)
    cutoff = parse_since(older_than)
    if cutoff is None:
        raise ConfigError("older_than is required: an age like '30d', or a date")
    if check_status(status) == "running":
        raise ConfigError("running executions are never pruned")
    report = PruneReport(store.backend.location, cutoff, dry_run=True)
    for row in store.list_executions(name=name, status=status):
        if row.status == "running" or row.created_at >= cutoff:
            continue
        report.executions.append(
            PrunedExecution(
                store.key(row.path), row.execution_id, row.name, row.status, row.created_at
            )
        )
    if sizes:
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(lambda e: _measure(store, e), report.executions))
    return report


def _measure(store: ArtifactStore, execution: PrunedExecution) -> None:
    try:
        found = store.backend.find_sizes(execution.folder)
    except PyExecStoreError as exc:
        execution.error = str(exc)
        return
    execution.files, execution.bytes = len(found), sum(found.values())


def delete_prunable(
    store: ArtifactStore | str | os.PathLike[str],
    executions: Sequence[PrunedExecution],
    *,
    progress: Callable[[PrunedExecution], None] | None = None,
) -> None:
    """Delete ``executions`` (from :func:`find_prunable`), recording what each freed."""
    store = _store(store)

    def delete(execution: PrunedExecution) -> None:
        try:
            removed = store.delete_execution(execution.folder)
        except (PyExecStoreError, OSError) as exc:
            execution.error = str(exc)
        else:
            execution.files, execution.bytes = len(removed), sum(removed.values())
            execution.deleted, execution.error = True, None
        if progress is not None:
            progress(execution)

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(delete, executions))


def prune(
    store: ArtifactStore | str | os.PathLike[str],
    older_than: Any,
    *,
    status: str | None = None,
    name: str | None = None,
    dry_run: bool = False,
) -> PruneReport:
    """Delete whole executions started before ``older_than``; never a running one.

    Parameters
    ----------
    store
        A store or its URL.
    older_than
        An age (``"30d"``, ``"12h"``, ``"0s"``: everything), a date, a
        ``datetime`` or a ``timedelta``, as ``ls --since`` takes them.
    status, name
        Only executions with this status (not ``running``), with this name or
        matching this pattern.
    dry_run
        Report what would be removed, with sizes; delete nothing.

    Returns
    -------
    PruneReport
        The executions removed, their files and bytes, and those that failed
        (an interrupted deletion lists as ``deleting``; pruning again finishes it).
    """
    found = find_prunable(store, older_than, status=status, name=name, sizes=dry_run)
    if not dry_run:
        delete_prunable(store, found.executions)
        found.dry_run = False
    return found
