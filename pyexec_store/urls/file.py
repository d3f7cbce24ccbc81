"""``file`` strategy: ``file:///abs/path`` locally, ``protocol://path`` elsewhere."""

from __future__ import annotations

from .base import UrlStrategy


class FileUrls(UrlStrategy):
    """The storage's own URL for a path; nothing expires, nothing is signed."""

    def url(self, rel: str, *, expires: int | None = None) -> str:
        return self.backend.uri(rel)
