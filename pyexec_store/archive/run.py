"""One archive run: list the source, read the archive's manifests, archive what differs.

Requests to the destination for a run with nothing to do: one GET per
execution (its manifest). For each execution copied: one listing of its
folder (what an interrupted run left), one write per file, one check per file
(a HEAD where the server vouches for the checksum it was sent, else a GET),
and the manifest.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..catalog import check_status
from ..config import open_store
from ..errors import ConfigError, ConfigTypeError, PyExecStoreError, StorageError
from ..layout import ARCHIVE_MANIFEST, parse_since
from ..models import now_iso
from ..store import ArtifactStore
from .copy import Copier, Job
from .manifest import Manifest, ManifestError, parse_manifest
from .plan import artifacts, compare, skip_reason
from .report import ArchiveReport, ExecutionOutcome, ProgressEvent

StoreOrUrl = ArtifactStore | str | os.PathLike[str]
Progress = Callable[[ProgressEvent], None]
#: Manifests read at once (each request keeps its own deadline while it waits).
MANIFEST_BATCH = 256


def as_store(store: StoreOrUrl) -> ArtifactStore:
    """``store``, or the store opened at that URL (with settings from the environment)."""
    return store if isinstance(store, ArtifactStore) else open_store(store)


class Archiver:
    """Archives the executions of ``src`` into ``dst``; :meth:`run` once, or again and again.

    Between runs it remembers the manifests it read and wrote, so a run after
    the first sends no request for an execution it already knows archived
    (which is what ``watch`` relies on). The arguments are :func:`archive`'s.
    """

    def __init__(
        self,
        src: StoreOrUrl,
        dst: StoreOrUrl,
        *,
        since: Any = None,
        name: str | None = None,
        status: str | None = None,
        include_running: bool = False,
        delete_source: bool = False,
        dry_run: bool = False,
        verify: bool = False,
        concurrency: int = 8,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        parse_since(since)  # a bad age fails now, before any I/O
        self.status = check_status(status)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int):
            raise ConfigTypeError(f"concurrency must be an int, not {type(concurrency).__name__}")
        if concurrency < 1:
            raise ConfigError(f"concurrency={concurrency}: expected at least 1")
        self.src, self.dst = as_store(src), as_store(dst)
        if self.src.backend.uri("") == self.dst.backend.uri(""):
            raise ConfigError(f"source and destination are the same store: {self.src.root}")
        self.since, self.name = since, name
        self.include_running, self.dry_run, self.verify = include_running, dry_run, verify
        self.delete_source, self.concurrency = delete_source, concurrency
        self.progress = progress or (lambda event: None)
        self.stop = stop or threading.Event()
        self.known: dict[str, Manifest] = {}
        self._lock = threading.Lock()
        self.copier = Copier(
            self.src,
            self.dst,
            dry_run=dry_run,
            verify=verify,
            delete_source=delete_source,
            on_bytes=lambda n: self.progress(ProgressEvent("bytes", bytes=n)),
            archived_at=now_iso,
        )

    def run(self) -> ArchiveReport:
        """One pass over the source; see :func:`archive`."""
        started = time.monotonic()
        report = ArchiveReport(self.src.backend.location, self.dst.backend.location, self.dry_run)
        rows = self.src.list_executions(name=self.name, since=self.since)
        todo = []
        for row in rows:
            out = ExecutionOutcome(self.src.key(row.path), row.execution_id, row.name, row.status)
            reason = skip_reason(row, self.status, self.include_running)
            if reason is None:
                todo.append(out)
            else:
                out.reason = reason
                report.executions.append(out)
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="archive") as pool:
            jobs = list(pool.map(self._list_source, todo))
            self._read_manifests(jobs)
            self._plan(jobs)
            for job in pool.map(self._archive, jobs):
                report.executions.append(job.outcome)
            if self.verify:
                sources = {self.src.key(r.path) for r in rows}
                report.executions += self._check_archive_only(sources, pool)
        report.executions.sort(key=lambda e: e.folder)
        report.seconds = time.monotonic() - started
        return report

    # -- steps ----------------------------------------------------------------
    def _list_source(self, out: ExecutionOutcome) -> Job:
        listed_at = time.time()
        try:
            files = artifacts(self.src.backend.find_stats(out.folder))
        except PyExecStoreError as exc:
            out.action, out.reason = "failed", f"could not list the source: {exc}"
            files = {}
        return Job(out, files, listed_at, None)

    def _read_manifests(self, jobs: list[Job]) -> None:
        """The archive's manifest of each job: remembered, else read (one GET each)."""
        wanted = []
        for job in jobs:
            known = None if self.verify else self.known.get(job.outcome.folder)
            if known is not None:
                job.manifest = known
            elif job.outcome.action != "failed":
                wanted.append(job)
        for start in range(0, len(wanted), MANIFEST_BATCH):
            batch = wanted[start : start + MANIFEST_BATCH]
            keys = [f"{j.outcome.folder}/{ARCHIVE_MANIFEST}" for j in batch]
            found = self.dst.backend.read_many(keys)
            for job, key in zip(batch, keys, strict=True):
                self._take_manifest(job, found[key])

    def _take_manifest(self, job: Job, found: bytes | StorageError) -> None:
        out = job.outcome
        if isinstance(found, StorageError):
            if not isinstance(found, FileNotFoundError):
                out.action, out.reason = "failed", f"could not read the archive: {found}"
            return
        try:
            job.manifest = parse_manifest(found, out.folder)
        except ManifestError as exc:
            job.manifest_problem = f"invalid ({exc})"

    def _plan(self, jobs: list[Job]) -> None:
        """Tell the progress callback how much work there is, at most."""
        total = 0
        for job in jobs:
            comparison = compare(job.files, job.manifest)
            for path in comparison.changed + comparison.unsure:
                total += job.files[path].size
        self.progress(ProgressEvent("planned", executions=len(jobs), bytes=total))

    def _archive(self, job: Job) -> Job:
        out = job.outcome
        if out.action == "failed":
            pass
        elif self.stop.is_set():
            out.reason = "stopped before it was archived"
        else:
            try:
                manifest = self.copier.run(job)
            except (PyExecStoreError, OSError) as exc:
                out.action, out.reason = "failed", str(exc)
                manifest = None
            with self._lock:
                if manifest is not None and not self.dry_run:
                    self.known[out.folder] = manifest
                else:
                    self.known.pop(out.folder, None)
        self.progress(ProgressEvent("execution", outcome=out))
        return job

    def _check_archive_only(
        self, sources: set[str], pool: ThreadPoolExecutor
    ) -> list[ExecutionOutcome]:
        """Verify also the archived executions whose source is gone (nothing to repair from)."""
        rows = [
            r
            for r in self.dst.list_executions(name=self.name, since=self.since)
            if self.dst.key(r.path) not in sources
        ]
        outs = [
            ExecutionOutcome(self.dst.key(r.path), r.execution_id, r.name, r.status) for r in rows
        ]
        jobs = [Job(out, {}, 0.0, None) for out in outs]
        self._read_manifests(jobs)
        return list(pool.map(self._check_only, jobs))

    def _check_only(self, job: Job) -> ExecutionOutcome:
        out = job.outcome
        if job.manifest is None:
            out.reason = "not archived (no valid manifest), and not in the source"
            return out
        try:
            problems = self.copier.check(out.folder, job.manifest)
        except (PyExecStoreError, OSError) as exc:
            out.action, out.reason = "failed", str(exc)
            return out
        out.checked = True
        out.problems = [f"{path}: {what}" for path, what in problems.items()]
        if out.problems:
            out.action = "failed"
            out.reason = "damaged, and the source is gone: " + "; ".join(out.problems)
        else:
            out.reason = "verified (not in the source)"
        return out


def archive(
    src: StoreOrUrl,
    dst: StoreOrUrl,
    *,
    since: Any = None,
    name: str | None = None,
    status: str | None = None,
    include_running: bool = False,
    delete_source: bool = False,
    dry_run: bool = False,
    verify: bool = False,
    concurrency: int = 8,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> ArchiveReport:
    """Copy finished executions from one store to another, exactly and verified.

    Each execution keeps its folder's path; every file is copied byte for
    byte with its Content-Type, checked (size and SHA-256) against the bytes
    read from the source, and only then is ``archive_manifest.json`` written,
    last, into the execution's folder in ``dst``. An execution without a valid
    manifest there is not archived. Running it again copies only what is new
    or changed (an execution resumed since, a run that was killed): with
    nothing to do it sends one read per execution and writes nothing.
    Nothing is written to ``src``, except deletions with ``delete_source``.

    Parameters
    ----------
    src, dst
        Stores, or URLs to open (``"./_agent_data"``, ``"s3://bucket/archive"``).
    since, name, status
        Only executions started since (``"7d"``, a datetime), with this name or
        pattern, with this status, as for :meth:`ArtifactStore.list_executions`.
    include_running
        Archive ``running`` executions too (archived again once they finish).
        By default only finished ones are (``success``, ``failed``,
        ``interrupted``, and ``unknown``: folders the original module wrote).
    delete_source
        Delete each archived execution from ``src`` once its archived copy was
        checked file by file and the source has not changed since; never a
        running one.
    dry_run
        Report what would be copied and deleted, with sizes; change nothing.
    verify
        Read every archived file back (size and SHA-256 against the manifest),
        report what is missing or differs, and repair it from the source.
    concurrency
        Executions archived at once.
    progress
        Called with a :class:`ProgressEvent` as the work goes (from worker threads).
    stop
        Set it to stop: executions in flight are finished, no new one is started.

    Returns
    -------
    ArchiveReport
        One :class:`ExecutionOutcome` per execution looked at.

    Raises
    ------
    StorageError
        If the source cannot be listed. A failure of one execution does not
        raise: it is reported (``report.failed``) and the others go on.
    ConfigError, ConfigTypeError
        For bad arguments, before any I/O.
    """
    archiver = Archiver(
        src,
        dst,
        since=since,
        name=name,
        status=status,
        include_running=include_running,
        delete_source=delete_source,
        dry_run=dry_run,
        verify=verify,
        concurrency=concurrency,
        progress=progress,
        stop=stop,
    )
    return archiver.run()
