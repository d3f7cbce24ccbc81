"""Preflight checks of a local store and of any other storage: write, read, delete a probe.

Locally the probe is an execution-like folder with an ``attempts/`` inside,
so the modes the permission policy gives (the execution folder's shared
mode, the files' mode) are checked as the store really applies them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import uuid
from typing import Any

from ..errors import StorageError, StorageNotFoundError
from ..store import ArtifactStore
from .checks import Check, failed, passed, skipped, warned

#: Less free space than this is worth a warning.
LOW_SPACE = 1_000_000_000


def local_checks(store: ArtifactStore) -> list[Check]:
    """The folder is writable with the policy's modes; the disk has room."""
    backend: Any = store.backend
    root = backend.root
    existed = os.path.isdir(root)
    probe = f".pyexec-store-doctor-{uuid.uuid4().hex[:12]}"
    key = f"{probe}/attempts/probe.txt"
    try:
        backend.makedirs(f"{probe}/attempts", shared_from=probe)
        backend.write(key, b"probe\n")
        if backend.read(key) != b"probe\n":
            return [failed("folder", f"{root}: a file read back differs from what was written")]
        folder_mode = stat.S_IMODE(os.stat(os.path.join(root, probe)).st_mode)
        file_mode = stat.S_IMODE(os.stat(os.path.join(root, key)).st_mode)
    except StorageError as exc:
        hint = "run as a user who may write there, or choose another folder"
        return [
            failed("folder", f"{root}: cannot write: {exc}", hint),
            *skipped(["permissions"], ""),
        ]
    finally:
        with contextlib.suppress(StorageError, OSError):
            backend.delete([key])
            os.rmdir(os.path.join(root, probe))
    made = "exists" if existed else "did not exist and was created"
    checks = [passed("folder", f"{root} {made}; files can be written, read and deleted")]
    modes = backend.modes
    if (folder_mode, file_mode) == (modes.shared, modes.files):
        checks.append(
            passed(
                "permissions",
                f"execution folders get {folder_mode:04o}, files {file_mode:04o}: the policy's",
            )
        )
    else:
        checks.append(
            failed(
                "permissions",
                f"execution folders got {folder_mode:04o} (policy {modes.shared:04o}), files "
                f"{file_mode:04o} (policy {modes.files:04o})",
                "this filesystem does not keep modes (NFS root squash, SMB, FAT?): "
                'another folder, or permissions="private"',
            )
        )
    free = shutil.disk_usage(root).free
    text = f"{free / 1e9:.1f} GB free in {root}"
    checks.append(passed("disk", text) if free >= LOW_SPACE else warned("disk", text, "make room"))
    return checks


def probe_checks(store: ArtifactStore) -> list[Check]:
    """Any storage: a probe object written, read back and deleted."""
    backend = store.backend
    key = f".pyexec-store-doctor/{uuid.uuid4().hex}.txt"
    data = b"pyexec-store doctor probe\n"
    try:
        backend.write(key, data)
    except StorageError as exc:
        return [
            failed("write", f"could not write {backend.uri(key)}: {exc}"),
            *skipped(["read", "delete"], ""),
        ]
    checks = [passed("write", f"wrote {backend.uri(key)}")]
    try:
        same = backend.read(key) == data
        checks.append(
            passed("read", "read back the same bytes")
            if same
            else failed("read", "read back other bytes")
        )
    except StorageError as exc:
        checks.append(failed("read", f"could not read the probe back: {exc}"))
    try:
        backend.delete([key])
        backend.read(key)
    except StorageNotFoundError:
        checks.append(passed("delete", "deleted the probe"))
    except StorageError as exc:
        checks.append(failed("delete", f"could not delete the probe: {exc}"))
    else:
        checks.append(failed("delete", "the probe is still there after it was deleted"))
    return checks
