"""The archive manifest: what an archived execution holds, exactly (pure, no I/O).

``archive_manifest.json`` is written last into an execution's folder in the
destination, once every file in it was checked. It names each file with its
size and SHA-256, where it came from (the source store's URL, never a
credential) and when. An execution without a valid manifest is not archived,
whatever else its folder holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from ..layout import ARCHIVE_MANIFEST, check_relative

__all__ = ["ARCHIVE_MANIFEST", "FileEntry", "Manifest", "ManifestError", "parse_manifest"]

FORMAT = "pyexec_store.archive_manifest"
VERSION = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(ValueError):
    """A manifest that cannot be trusted: not JSON, another format, a bad entry."""


@dataclass(frozen=True)
class FileEntry:
    """One file of an archived execution."""

    path: str
    """Relative to the execution folder."""
    size: int
    sha256: str
    """Hex digest."""
    mtime: float | None = None
    """The source file's modification time when it was copied, where the source lists one."""


@dataclass(frozen=True)
class Manifest:
    """What an archived execution holds (see the module docstring)."""

    folder: str
    """The execution folder, relative to the store root (the same in source and archive)."""
    execution_id: str
    status: str
    """The execution's status when it was archived."""
    source: str
    """The source store's URL."""
    archived_at: str
    """ISO 8601, with its UTC offset."""
    listed_at: float
    """When the source was listed (seconds since the epoch): a file modified within
    :data:`~pyexec_store.archive.plan.RACY_SECONDS` before it may have changed
    again within the same tick of its clock, so its time alone proves nothing."""
    files: tuple[FileEntry, ...] = field(default_factory=tuple)

    def by_path(self) -> dict[str, FileEntry]:
        return {entry.path: entry for entry in self.files}

    @property
    def size(self) -> int:
        """Bytes in the execution's files."""
        return sum(entry.size for entry in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "folder": self.folder,
            "execution_id": self.execution_id,
            "status": self.status,
            "source": self.source,
            "archived_at": self.archived_at,
            "listed_at": self.listed_at,
            "files": [
                {"path": e.path, "size": e.size, "sha256": e.sha256, "mtime": e.mtime}
                for e in sorted(self.files, key=lambda e: e.path)
            ],
        }

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2)


def parse_manifest(data: bytes, folder: str) -> Manifest:
    """The manifest in ``data``, which must describe the execution in ``folder``.

    Raises
    ------
    ManifestError
        If anything in it is not as :meth:`Manifest.to_dict` writes it.
    """
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ManifestError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ManifestError("not an archive manifest")
    if doc.get("version") != VERSION:
        raise ManifestError(f"manifest version {doc.get('version')!r}, expected {VERSION}")
    if doc.get("folder") != folder:
        raise ManifestError(f"it describes {doc.get('folder')!r}, not this folder")
    texts = {k: doc.get(k) for k in ("execution_id", "status", "source", "archived_at")}
    if not all(isinstance(v, str) for v in texts.values()):
        raise ManifestError("execution_id, status, source and archived_at must be strings")
    try:
        datetime.fromisoformat(str(texts["archived_at"]))
    except ValueError:
        raise ManifestError(f"archived_at {texts['archived_at']!r} is not a time") from None
    listed_at = doc.get("listed_at")
    if not _number(listed_at):
        raise ManifestError("listed_at must be a number")
    files = doc.get("files")
    if not isinstance(files, list):
        raise ManifestError("files must be a list")
    entries = tuple(_entry(item) for item in files)
    if len({e.path for e in entries}) != len(entries):
        raise ManifestError("a file is listed twice")
    return Manifest(
        folder=folder,
        execution_id=str(texts["execution_id"]),
        status=str(texts["status"]),
        source=str(texts["source"]),
        archived_at=str(texts["archived_at"]),
        listed_at=float(listed_at),  # type: ignore[arg-type]
        files=entries,
    )


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _entry(item: object) -> FileEntry:
    if not isinstance(item, Mapping):
        raise ManifestError(f"a file entry must be an object, not {item!r}")
    path, size, sha, mtime = (item.get(k) for k in ("path", "size", "sha256", "mtime"))
    if not isinstance(path, str) or path == ARCHIVE_MANIFEST:
        raise ManifestError(f"bad file path {path!r}")
    try:
        check_relative(path)
    except ValueError:
        raise ManifestError(f"file path {path!r} leaves the execution folder") from None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"{path}: bad size {size!r}")
    if not isinstance(sha, str) or not _SHA256.match(sha):
        raise ManifestError(f"{path}: bad sha256 {sha!r}")
    if mtime is not None and not _number(mtime):
        raise ManifestError(f"{path}: bad mtime {mtime!r}")
    return FileEntry(path, size, sha, None if mtime is None else float(mtime))
