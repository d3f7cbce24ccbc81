"""In-memory backend (``memory://``): the embedded default for tests and benchmarks.

fsspec's memory filesystem is process-wide, so two stores opened on the same
``memory://`` URL see the same executions, as two stores on one folder would.
"""

from __future__ import annotations

from typing import ClassVar

from .base import Backend


class MemoryBackend(Backend):
    """Executions kept in this process's memory; gone when it exits."""

    protocol: ClassVar[str] = "memory"
