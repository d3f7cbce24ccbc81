"""Archiving executions from one store to another: exact, verified, resumable.

The main case is a local store next to JupyterLab shipped to S3/MinIO
(``pyexec-store archive ./_agent_data s3://bucket/archive --watch``); any
store to any store works (an S3 archive restored to local disk, memory in
tests). See ``docs/archive.md``.

- :mod:`.plan`: what to copy, from listings and manifests (pure)
- :mod:`.manifest`: the per-execution manifest, built, parsed, checked (pure)
- :mod:`.copy`: copying and checking one execution, the manifest last (I/O)
- :mod:`.run`: one run over a source (:func:`archive`)
- :mod:`.watch`: runs again and again (:func:`watch`)
"""

from __future__ import annotations

from .manifest import ARCHIVE_MANIFEST, FileEntry, Manifest, ManifestError, parse_manifest
from .report import ArchiveReport, ExecutionOutcome, ProgressEvent
from .run import Archiver, archive
from .watch import watch

__all__ = [
    "ARCHIVE_MANIFEST",
    "ArchiveReport",
    "Archiver",
    "ExecutionOutcome",
    "FileEntry",
    "Manifest",
    "ManifestError",
    "ProgressEvent",
    "archive",
    "parse_manifest",
    "watch",
]
