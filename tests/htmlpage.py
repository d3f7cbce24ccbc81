"""Reading an execution page back with the standard library's HTML parser, as tests need it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from html.parser import HTMLParser

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@dataclass
class Page:
    """What a parsed page holds."""

    tags: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    text: str = ""
    """Every text node, decoded (``&lt;`` is ``<``), joined with spaces."""
    texts: dict[str, str] = field(default_factory=dict)
    """The text inside each element with an ``id`` (sections), by id."""

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def images(self) -> list[bytes]:
        """The decoded bytes of every ``data:image/png`` image."""
        found = []
        for attrs in self.all("img"):
            src = attrs.get("src") or ""
            if src.startswith("data:image/png;base64,"):
                found.append(base64.b64decode(src.split(",", 1)[1]))
        return found

    def urls(self) -> list[str]:
        """Every ``src`` and ``href`` value."""
        return [
            value or ""
            for _, attrs in self.tags
            for name, value in attrs.items()
            if name in ("src", "href", "srcset", "action", "formaction", "poster", "data")
        ]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.chunks: list[str] = []
        self.open: list[tuple[str, str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.tags.append((tag, dict(attrs)))
        if tag not in ("img", "meta", "br", "hr", "input", "link"):
            self.open.append((tag, dict(attrs).get("id"), len(self.chunks)))

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            name, ident, start = self.open.pop()
            if ident:
                self.page.texts[ident] = " ".join(self.chunks[start:])
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def parse(html: str | bytes) -> Page:
    parser = _Parser()
    parser.feed(html.decode("utf-8") if isinstance(html, bytes) else html)
    parser.close()
    parser.page.text = " ".join(parser.chunks)
    return parser.page


def assert_self_contained(page: Page) -> None:
    """No script, no event handler, nothing to fetch: every URL is ``data:``, relative or a
    fragment, and the Content-Security-Policy forbids the rest."""
    assert page.all("script") == [] and page.all("iframe") == [] and page.all("object") == []
    assert page.all("link") == [] and page.all("base") == [] and page.all("embed") == []
    for tag, attrs in page.tags:
        handlers = [name for name in attrs if name.startswith("on")]
        assert handlers == [], f"<{tag}> has event handlers {handlers}"
    for url in page.urls():
        lowered = url.strip().lower()
        assert lowered.startswith(("data:image/png;base64,", "data:image/jpeg;base64,", "#")) or (
            ":" not in lowered.split("/")[0] and not lowered.startswith("//")
        ), f"a URL that leaves the page: {url[:80]!r}"
    csp = [
        a
        for a in page.all("meta")
        if (a.get("http-equiv") or "").lower() == "content-security-policy"
    ]
    assert [a.get("content") for a in csp] == [CSP]
