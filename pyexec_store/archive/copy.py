"""Copying one execution into the archive, checking it, and writing its manifest last.

The order is what makes an archive safe to kill at any moment: files first
(each a whole object or nothing), then a check of every file copied against
the bytes read from the source, then the manifest. A run that dies before
the manifest leaves an execution that is not archived; the next run finds
the files already there (same size and SHA-256) and copies only the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO

from ..backends.base import FileStat, hash_stream
from ..errors import StorageError
from ..layout import ARCHIVE_MANIFEST, ATTEMPTS_DIR
from ..store import ArtifactStore
from ..writing import JSON
from .manifest import FileEntry, Manifest
from .plan import artifacts, compare, content_type, extra_objects, settle
from .report import ExecutionOutcome


class SourceChanged(StorageError):
    """A source file changed while it was copied: the execution is tried again next time."""


@dataclass
class Job:
    """One source execution to archive: its files as listed, and its archived manifest."""

    outcome: ExecutionOutcome
    files: dict[str, FileStat]
    listed_at: float
    manifest: Manifest | None
    manifest_problem: str | None = None
    """Why the manifest found in the destination was not used (unreadable, invalid)."""


class HashingReader:
    """Reads at most ``size`` bytes of a file, hashing them and counting them as they go."""

    def __init__(self, raw: IO[bytes], size: int, on_bytes: Callable[[int], None]) -> None:
        self.raw, self.left, self.on_bytes = raw, size, on_bytes  # never more than listed
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1, /) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.raw.read(n) if n else b""
        self.sha.update(data)
        self.size += len(data)
        self.left -= len(data)
        if data:
            self.on_bytes(len(data))
        return data


class Copier:
    """Archives executions from ``src`` into ``dst``, one :class:`Job` at a time.

    Safe to use from several threads at once, one job each.
    """

    def __init__(
        self,
        src: ArtifactStore,
        dst: ArtifactStore,
        *,
        dry_run: bool,
        verify: bool,
        delete_source: bool,
        on_bytes: Callable[[int], None],
        archived_at: Callable[[], str],
    ) -> None:
        self.src, self.dst = src.backend, dst.backend
        self.src_store = src
        self.dry_run, self.verify, self.delete_source = dry_run, verify, delete_source
        self.on_bytes = on_bytes
        self.archived_at = archived_at
        self.source_url = self.src.uri("")

    # -- one execution --------------------------------------------------------
    def run(self, job: Job) -> Manifest | None:
        """Archive one execution; fills ``job.outcome``; the manifest it stands on."""
        out, folder, manifest = job.outcome, job.outcome.folder, job.manifest
        comparison = compare(job.files, manifest)
        if manifest is not None and comparison.unsure:
            hashes = self.source_hashes(folder, comparison.unsure)
            comparison = settle(comparison, job.files, hashes, manifest)
        to_copy = set(comparison.changed)
        removed = set(comparison.removed)
        if manifest is not None and (self.verify or self.delete_source) and not self.dry_run:
            problems = self.check(folder, manifest)
            out.checked = True
            out.problems = [f"{path}: {what}" for path, what in problems.items()]
            to_copy |= {p for p in problems if p in job.files}
            removed |= {p for p in problems if p not in job.files}
            for path in problems:
                comparison.unchanged.pop(path, None)
        if manifest is not None and not to_copy and not removed:
            out.reason = "up to date"
            if comparison.retimed and not self.dry_run:
                manifest = self.write_manifest(job, comparison.unchanged)
                out.reason = "up to date (manifest refreshed: files touched, not changed)"
            self.finish(job, manifest)
            return manifest
        entries = dict(comparison.unchanged)
        if manifest is None:
            stored = self.dst.find_stats(folder)
            removed |= set(extra_objects(stored, job.files))
            to_copy = set(job.files)
            if not self.dry_run:
                to_copy -= self.already_there(job, stored, entries)
        out.copied = sorted(to_copy)
        out.bytes = sum(job.files[p].size for p in to_copy)
        out.removed = sorted(removed)
        if self.dry_run:
            out.action = "would archive"
            self.finish(job, manifest)
            return manifest
        self.copy(job, out.copied, entries)
        if removed:
            self.dst.delete([f"{folder}/{p}" for p in out.removed])
        manifest = self.write_manifest(job, entries)
        out.action = "repaired" if out.problems or job.manifest_problem else "archived"
        if job.manifest_problem:
            out.problems.append(f"{ARCHIVE_MANIFEST}: {job.manifest_problem}")
        out.reason = "; ".join(out.problems)
        self.finish(job, manifest)
        return manifest

    def copy(self, job: Job, paths: list[str], entries: dict[str, FileEntry]) -> None:
        """Copy ``paths``, then check each copy against what was read; adds their entries."""
        folder = job.outcome.folder
        if any(p.startswith(f"{ATTEMPTS_DIR}/") for p in paths):
            self.dst.makedirs(f"{folder}/{ATTEMPTS_DIR}", shared_from=folder)
        else:
            self.dst.makedirs(folder, shared_from=folder)
        sent: dict[str, tuple[int, str]] = {}
        for path in paths:
            sent[path] = self.copy_file(folder, path, job.files[path].size)
        digests = self.dst.digests([f"{folder}/{p}" for p in paths])
        wrong = []
        for path in paths:
            found = digests[f"{folder}/{path}"]
            if isinstance(found, StorageError):
                raise found
            if (found.size, found.sha256) != sent[path]:
                wrong.append(path)
                continue
            _verified(job.outcome, found.method)
            entries[path] = FileEntry(path, *sent[path], job.files[path].mtime)
        if wrong:
            raise StorageError(
                "verify",
                f"{self.dst.uri(folder)}",
                self.dst.endpoint(),
                f"the archived copy differs from the source: {', '.join(wrong)}",
            )

    def copy_file(self, folder: str, path: str, size: int) -> tuple[int, str]:
        """Stream one file from source to destination: (size, hex SHA-256) of what was read."""
        key = f"{folder}/{path}"
        with self.src.open_read(key) as raw:
            reader = HashingReader(raw, size, self.on_bytes)
            self.dst.write_stream(key, reader, size, content_type=content_type(path))
            grew = raw.read(1)
        if reader.size != size or grew:
            raise SourceChanged(
                "copy", self.src.uri(key), None, "it changed while it was copied; try again"
            )
        return size, reader.sha.hexdigest()

    # -- checks ----------------------------------------------------------------
    def source_hashes(self, folder: str, paths: list[str]) -> dict[str, tuple[int, str]]:
        """(size, SHA-256) of source files, read and hashed here (never a request that writes)."""
        hashes = {}
        for path in paths:
            with self.src.open_read(f"{folder}/{path}") as stream:
                hashes[path] = hash_stream(stream)
        return hashes

    def already_there(
        self, job: Job, stored: Mapping[str, FileStat], entries: dict[str, FileEntry]
    ) -> set[str]:
        """Files an interrupted run already copied whole: same size and SHA-256 as the source's."""
        folder, files = job.outcome.folder, job.files
        candidates = [p for p in files if p in stored and stored[p].size == files[p].size]
        if not candidates:
            return set()
        mine = self.source_hashes(folder, candidates)
        theirs = self.dst.digests([f"{folder}/{p}" for p in candidates])
        done = set()
        for path in candidates:
            found = theirs[f"{folder}/{path}"]
            if not isinstance(found, StorageError) and (found.size, found.sha256) == mine[path]:
                entries[path] = FileEntry(path, *mine[path], files[path].mtime)
                _verified(job.outcome, found.method)
                done.add(path)
        return done

    def check(self, folder: str, manifest: Manifest) -> dict[str, str]:
        """Read the archived execution back: what is wrong with each damaged path.

        Missing objects, a wrong size or SHA-256, and objects that are no file
        of the execution (an extra object is removed, not copied).
        """
        stored = self.dst.find_stats(folder)
        problems, present = {}, []
        for entry in manifest.files:
            found = stored.get(entry.path)
            if found is None:
                problems[entry.path] = "missing"
            elif found.size != entry.size:
                problems[entry.path] = f"{found.size} bytes, not {entry.size}"
            else:
                present.append(entry)
        digests = self.dst.digests([f"{folder}/{e.path}" for e in present])
        for entry in present:
            digest = digests[f"{folder}/{entry.path}"]
            if isinstance(digest, StorageError):
                problems[entry.path] = f"unreadable ({digest})"
            elif digest.sha256 != entry.sha256:
                problems[entry.path] = "SHA-256 differs"
        for path in extra_objects(stored, manifest.by_path()):
            problems[path] = "not a file of the execution"
        return problems

    # -- the end of an execution -----------------------------------------------
    def write_manifest(self, job: Job, entries: Mapping[str, FileEntry]) -> Manifest:
        """Write the manifest, last, once the execution's files are durable."""
        out = job.outcome
        manifest = Manifest(
            folder=out.folder,
            execution_id=out.execution_id,
            status=out.status,
            source=self.source_url,
            archived_at=self.archived_at(),
            listed_at=job.listed_at,
            files=tuple(entries[p] for p in sorted(entries)),
        )
        self.dst.sync(out.folder)
        self.dst.write(f"{out.folder}/{ARCHIVE_MANIFEST}", manifest.to_bytes(), content_type=JSON)
        self.dst.sync(out.folder)
        return manifest

    def finish(self, job: Job, manifest: Manifest | None) -> None:
        """Delete the source execution, if asked and safe: archived, verified, unchanged, over."""
        out = job.outcome
        out.source_bytes = sum(s.size for s in job.files.values())
        if not self.delete_source or (manifest is None and not self.dry_run):
            return
        if out.status == "running":
            out.reason = _join(out.reason, "source kept: still running")
            return
        if self.dry_run or manifest is None:
            out.source_deleted = self.dry_run
            return
        now = artifacts(self.src.find_stats(out.folder))
        again = compare(now, manifest)
        if again.unsure:
            again = settle(again, now, self.source_hashes(out.folder, again.unsure), manifest)
        if not again.up_to_date:
            out.reason = _join(out.reason, "source kept: it changed since it was archived")
            return
        self.src_store.delete_execution(out.folder)
        out.source_deleted = True


def _verified(outcome: ExecutionOutcome, method: str) -> None:
    outcome.verified_by[method] = outcome.verified_by.get(method, 0) + 1


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second
