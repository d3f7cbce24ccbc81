"""In-memory backend (``memory://``): for tests and benchmarks.

fsspec's memory filesystem is process-wide, so two stores opened on the same
``memory://`` URL see the same executions, as two stores on one folder would.

Writes go straight into the filesystem's dictionary: fsspec's own write path
asks ``exists()`` and ``isfile()`` of the file and every parent, and each of
those scans every key held in memory, so a write cost time in proportion to
everything stored so far (a store holding 3 000 executions wrote one 25 times
slower than an empty store). Here a write costs a few dictionary lookups,
whatever the store holds.
"""

from __future__ import annotations

import errno
import threading
from typing import Any, ClassVar

from fsspec.implementations.memory import MemoryFile

from .base import WriteItem, reject_unknown_options
from .generic import FsspecBackend

#: fsspec's memory store is one dictionary per process: one lock serves every store on it.
_WRITE_LOCK = threading.Lock()


class MemoryBackend(FsspecBackend):
    """Executions kept in this process's memory; gone when it exits. Takes no options."""

    protocol: ClassVar[str] = "memory"

    @classmethod
    def accepts(cls, option: str) -> bool:
        return False

    def __init__(self, url: str, **options: Any) -> None:
        reject_unknown_options(options, (), "memory stores")
        super().__init__(url)

    def _write(self, item: WriteItem) -> None:
        path = self.full_path(item.path)
        fs = self.fs
        with self.errors("write", item.path), _WRITE_LOCK:
            if path in fs.pseudo_dirs:
                raise IsADirectoryError(errno.EISDIR, "is a folder", path)
            if item.exclusive and path in fs.store:
                raise FileExistsError(errno.EEXIST, "exists", path)
            parent = path.rpartition("/")[0]
            while parent:
                if parent in fs.store:
                    raise NotADirectoryError(errno.ENOTDIR, "a parent is a file", parent)
                parent = parent.rpartition("/")[0]
            MemoryFile(fs, path, item.data).commit()
