"""What to copy, from listings and manifests (pure: no I/O).

An execution is up to date in the archive when the source still holds
exactly the files its manifest names. Whether a file changed is told by its
size and modification time, unread; where those cannot tell (no time listed,
a different time, or a time too close to when the manifest's listing was
taken), the file is hashed and the SHA-256 decides.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..backends.base import FileStat
from ..layout import ARCHIVE_MANIFEST
from ..models import ExecutionInfo
from .manifest import FileEntry, Manifest

#: A file modified this close before its listing may change again within the
#: same tick of the storage's clock (S3 times have whole seconds, some disks
#: two), unseen by size and time: such a file is hashed, not trusted.
RACY_SECONDS = 2.0

#: Content-Type by extension; anything else is ``application/octet-stream``.
CONTENT_TYPES = {
    ".json": "application/json",
    ".ipynb": "application/x-ipynb+json",
    ".png": "image/png",
    ".html": "text/html",
}
#: Statuses archived by default: the execution is over, whatever its outcome.
FINISHED = frozenset({"success", "failed", "interrupted", "unknown"})


def content_type(path: str) -> str:
    """The Content-Type an archived file is stored with, by its extension."""
    return CONTENT_TYPES.get(posixpath.splitext(path)[1].lower(), "application/octet-stream")


def artifacts(files: Mapping[str, FileStat]) -> dict[str, FileStat]:
    """An execution's files, without a manifest a source archive may hold."""
    return {path: stat for path, stat in files.items() if path != ARCHIVE_MANIFEST}


def skip_reason(row: ExecutionInfo, status: str | None, include_running: bool) -> str | None:
    """Why an execution is left out of this archive run, or ``None`` to archive it."""
    if status is not None and row.status != status:
        return f"status {row.status}, not {status}"
    if row.status == "deleting":
        return "being deleted"
    if row.status == "running" and not include_running:
        return "still running"
    if row.status not in FINISHED and row.status != "running":
        return f"status {row.status}"
    return None


@dataclass
class Comparison:
    """A source execution's files against the manifest of its archived copy."""

    unchanged: dict[str, FileEntry] = field(default_factory=dict)
    """As the manifest says (size and time, or SHA-256)."""
    unsure: list[str] = field(default_factory=list)
    """Same size, but the time cannot tell: to hash before deciding."""
    changed: list[str] = field(default_factory=list)
    """New files, and files whose size or SHA-256 differs: to copy."""
    removed: list[str] = field(default_factory=list)
    """Named by the manifest, gone from the source: to remove from the archive."""
    retimed: list[str] = field(default_factory=list)
    """Unchanged, but with another time than the manifest records."""

    @property
    def up_to_date(self) -> bool:
        return not (self.unsure or self.changed or self.removed)


def compare(files: Mapping[str, FileStat], manifest: Manifest | None) -> Comparison:
    """Sort ``files`` (the source's listing) by what the manifest says of them."""
    known = manifest.by_path() if manifest is not None else {}
    out = Comparison(removed=sorted(set(known) - set(files)))
    for path, stat in sorted(files.items()):
        entry = known.get(path)
        if entry is None or entry.size != stat.size:
            out.changed.append(path)
        elif (
            manifest is None
            or stat.mtime is None
            or entry.mtime is None
            or stat.mtime != entry.mtime
            or stat.mtime >= manifest.listed_at - RACY_SECONDS
        ):
            out.unsure.append(path)
        else:
            out.unchanged[path] = entry
    return out


def settle(
    comparison: Comparison,
    files: Mapping[str, FileStat],
    hashes: Mapping[str, tuple[int, str]],
    manifest: Manifest,
) -> Comparison:
    """``comparison`` with every unsure file decided by its SHA-256 in ``hashes``."""
    known = manifest.by_path()
    out = Comparison(
        unchanged=dict(comparison.unchanged),
        changed=list(comparison.changed),
        removed=list(comparison.removed),
    )
    for path in comparison.unsure:
        entry = known[path]
        size, sha = hashes[path]
        if (size, sha) != (entry.size, entry.sha256):
            out.changed.append(path)
            continue
        out.unchanged[path] = FileEntry(path, size, sha, files[path].mtime)
        if files[path].mtime != entry.mtime:
            out.retimed.append(path)
    out.changed.sort()
    return out


def extra_objects(stored: Iterable[str], files: Iterable[str]) -> list[str]:
    """Objects in an archived execution's folder that are not files of the source's."""
    return sorted(set(stored) - set(files) - {ARCHIVE_MANIFEST})
