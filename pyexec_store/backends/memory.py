"""In-memory backend (``memory://``): for tests and benchmarks.

fsspec's memory filesystem is process-wide, so two stores opened on the same
``memory://`` URL see the same executions, as two stores on one folder would.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import reject_unknown_options
from .generic import FsspecBackend


class MemoryBackend(FsspecBackend):
    """Executions kept in this process's memory; gone when it exits. Takes no options."""

    protocol: ClassVar[str] = "memory"

    @classmethod
    def accepts(cls, option: str) -> bool:
        return False

    def __init__(self, url: str, **options: Any) -> None:
        reject_unknown_options(options, (), "memory stores")
        super().__init__(url)
