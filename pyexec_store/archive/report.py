"""What an archive run did, execution by execution, and the progress events it sends."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from ..units import human_size

#: What happened to one execution.
Action = Literal["archived", "repaired", "skipped", "failed", "would archive"]


@dataclass
class ExecutionOutcome:
    """One execution of an archive run."""

    folder: str
    """Relative to the store roots (the same in source and destination)."""
    execution_id: str
    name: str
    status: str
    """Its status in the source when the run listed it."""
    action: Action = "skipped"
    reason: str = ""
    """Why it was skipped or failed, or what was repaired."""
    copied: list[str] = field(default_factory=list)
    """Files copied (or, in a dry run, to copy), relative to the execution folder."""
    bytes: int = 0
    """Bytes copied (or to copy)."""
    removed: list[str] = field(default_factory=list)
    """Objects removed from the destination's folder: no longer files of the execution."""
    problems: list[str] = field(default_factory=list)
    """What a check of the destination found missing or different."""
    verified_by: dict[str, int] = field(default_factory=dict)
    """Files checked after copying, by how (``"server checksum"``, ``"read back"``)."""
    checked: bool = False
    """Whether its archived copy was read back file by file (``verify``, ``delete_source``)."""
    source_deleted: bool = False
    """Whether the source execution was deleted (or, in a dry run, would be)."""
    source_bytes: int = 0
    """Bytes of the source execution (what deleting it frees)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "execution_id": self.execution_id,
            "name": self.name,
            "status": self.status,
            "action": self.action,
            "reason": self.reason,
            "copied": self.copied,
            "bytes": self.bytes,
            "removed": self.removed,
            "problems": self.problems,
            "verified_by": self.verified_by,
            "checked": self.checked,
            "source_deleted": self.source_deleted,
            "source_bytes": self.source_bytes,
        }


@dataclass
class ArchiveReport:
    """The outcome of :func:`~pyexec_store.archive`: one entry per execution considered."""

    source: str
    destination: str
    dry_run: bool = False
    executions: list[ExecutionOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def _count(self, action: Action) -> int:
        return sum(1 for e in self.executions if e.action == action)

    @property
    def archived(self) -> int:
        """Executions copied (new, or changed since they were archived)."""
        return self._count("archived")

    @property
    def repaired(self) -> int:
        """Executions whose archived copy was found damaged and was mended."""
        return self._count("repaired")

    @property
    def skipped(self) -> int:
        """Executions up to date, or left out (running, being deleted)."""
        return self._count("skipped")

    @property
    def failed(self) -> list[ExecutionOutcome]:
        return [e for e in self.executions if e.action == "failed"]

    @property
    def bytes(self) -> int:
        """Bytes copied (in a dry run: to copy)."""
        return sum(e.bytes for e in self.executions)

    @property
    def deleted(self) -> list[ExecutionOutcome]:
        """Source executions deleted (in a dry run: to delete)."""
        return [e for e in self.executions if e.source_deleted]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """One line: what was done, in how long."""
        if self.dry_run:
            would = self._count("would archive")
            text = f"dry run: would archive {would} ({human_size(self.bytes)})"
            if self.deleted:
                freed = sum(e.source_bytes for e in self.deleted)
                text += f", would delete {len(self.deleted)} from the source ({human_size(freed)})"
            return f"{text}, {self.skipped} skipped, {len(self.failed)} failed"
        verified = Counter[str]()
        for e in self.executions:
            verified.update(e.verified_by)
        how = ", ".join(f"{n} by {kind}" for kind, n in sorted(verified.items()))
        text = (
            f"archived {self.archived}, skipped {self.skipped}, repaired {self.repaired}, "
            f"failed {len(self.failed)}; {human_size(self.bytes)} in {self.seconds:.1f} s"
        )
        if how:
            text += f"; files verified: {how}"
        intact = sum(1 for e in self.executions if e.checked and not e.problems)
        if intact:
            text += f"; {intact} read back intact"
        if self.deleted:
            text += f"; deleted {len(self.deleted)} from the source"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "destination": self.destination,
            "dry_run": self.dry_run,
            "archived": self.archived,
            "skipped": self.skipped,
            "repaired": self.repaired,
            "failed": len(self.failed),
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "source_deleted": len(self.deleted),
            "executions": [e.to_dict() for e in self.executions],
        }


@dataclass(frozen=True)
class ProgressEvent:
    """What an archive run tells its ``progress`` callback.

    ``planned``: the run knows its work (``executions`` to look at, ``bytes``
    at most to copy); ``bytes``: that many more bytes were read from the
    source; ``execution``: one execution is done (``outcome``).
    """

    kind: Literal["planned", "bytes", "execution"]
    executions: int = 0
    bytes: int = 0
    outcome: ExecutionOutcome | None = None
