"""Data models of an execution (the seed's models, with ``UPath`` paths)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import PurePath
from typing import Any, Literal, TypeAlias, get_args

from upath import UPath

#: Paths in models: a UPath from the store, or a plain path a caller built.
StorePath: TypeAlias = UPath | PurePath

#: What :attr:`ExecutionInfo.status` can be.
Status: TypeAlias = Literal["running", "success", "failed", "interrupted", "unknown", "deleting"]
STATUSES: tuple[str, ...] = get_args(Status)


def now_iso() -> str:
    """This moment as timezone-aware ISO 8601 (local time with its UTC offset)."""
    return datetime.now().astimezone().isoformat()


class NotebookType(str, Enum):
    """What a notebook records."""

    CODE_GENERATION_ATTEMPT = "code_generation_attempt"
    PRE_EXECUTION = "pre_execution"
    EXECUTION_ATTEMPT = "execution_attempt"
    FINAL_SUCCESS = "final_success"
    FINAL_FAILURE = "final_failure"


@dataclass
class NotebookAttempt:
    """One attempt notebook written for an execution."""

    notebook_type: NotebookType
    attempt_number: int
    stage: str
    notebook_path: StorePath
    notebook_link: str
    error_context: str | None = None
    created_at: str = field(default_factory=now_iso)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (paths as strings, the type as its value)."""
        return {
            "notebook_type": self.notebook_type.value,
            "attempt_number": self.attempt_number,
            "stage": self.stage,
            "notebook_path": str(self.notebook_path),
            "notebook_link": self.notebook_link,
            "error_context": self.error_context,
            "created_at": self.created_at,
        }


@dataclass
class PythonExecutionContext:
    """Where one execution keeps its artifacts, and the attempts made so far.

    Paths are :class:`upath.UPath`; on local disk that is a ``pathlib.Path``.
    """

    folder_path: StorePath | None = None
    folder_url: str | None = None
    attempts_folder: StorePath | None = None
    context_file_path: StorePath | None = None
    notebook_attempts: list[NotebookAttempt] = field(default_factory=list)
    folder_key: str | None = field(default=None, repr=False, compare=False)
    """The folder relative to the store root (set by the store)."""
    metadata: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The last ``execution_metadata.json`` the store wrote or read for it."""
    figure_count: int = field(default=0, repr=False, compare=False)
    """The highest figure number handed out or found stored."""
    # Attempt numbers handed out so far; guarded by _lock so threads never share one.
    _last_attempt: int = field(default=0, repr=False, compare=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @property
    def is_initialized(self) -> bool:
        """True once the execution folder exists."""
        return self.folder_path is not None

    def get_next_attempt_number(self) -> int:
        """The number the next attempt notebook will get."""
        return max(len(self.notebook_attempts), self._last_attempt) + 1

    def add_notebook_attempt(self, attempt: NotebookAttempt) -> None:
        """Record an attempt notebook."""
        with self._lock:
            self.notebook_attempts.append(attempt)
            self._last_attempt = max(self._last_attempt, attempt.attempt_number)

    def claim_attempt_number(self) -> int:
        """Hand out the next attempt number (never the same one twice)."""
        with self._lock:
            self._last_attempt = self.get_next_attempt_number()
            return self._last_attempt

    def claim_figure_number(self) -> int:
        """Hand out the next figure number (never the same one twice)."""
        with self._lock:
            self.figure_count += 1
            return self.figure_count

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


@dataclass(frozen=True)
class ExecutionInfo:
    """One row of :meth:`ArtifactStore.list_executions`."""

    path: UPath
    name: str
    """The name as given to ``create_execution`` (the folder holds its ASCII form)."""
    execution_id: str
    created_at: datetime
    status: Status
    url: str
    finished_at: datetime | None = None
    attempts: int | None = None
    """Attempt notebooks recorded when the execution finished (``None`` before)."""
    error: str | None = None
    figures: int | None = None
    """Figures recorded when the execution finished (``None`` before)."""
