"""One line of the doctor's checklist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Outcome = Literal["pass", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    """One preflight check: what was tried, what was found, how to fix it.

    ``warn`` works but deserves a look (a fallback is in use); ``skip`` could
    not be tried because an earlier check failed. Only ``fail`` fails the doctor.
    """

    name: str
    outcome: Outcome
    detail: str
    hint: str = ""
    """What to do about it (for ``fail`` and ``warn``)."""

    @property
    def ok(self) -> bool:
        return self.outcome != "fail"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome,
            "detail": self.detail,
            "hint": self.hint,
        }


def passed(name: str, detail: str) -> Check:
    return Check(name, "pass", detail)


def failed(name: str, detail: str, hint: str = "") -> Check:
    return Check(name, "fail", detail, hint)


def warned(name: str, detail: str, hint: str = "") -> Check:
    return Check(name, "warn", detail, hint)


def skipped(names: list[str], why: str) -> list[Check]:
    return [Check(name, "skip", why) for name in names]
