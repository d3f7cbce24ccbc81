"""The execution page: one self-contained HTML file showing a whole execution (pure, no I/O).

The store reads what an execution holds into a :class:`PageData`;
:func:`render` turns it into ``execution.html``: the header (name, id, status,
times, host, error), the final notebook with the values of ``results.json``
and its figures, every attempt in a collapsible section, the context, the
output tails and the list of files. Notebooks are rendered by nbconvert
(:mod:`~pyexec_store.nbhtml`); the page around them is a small Jinja2 template
with autoescaping, so every text from the execution is escaped.

Nothing on the page is fetched: styles are inline, figures are ``data:``
images, and a Content-Security-Policy forbids any other source or script, so
the page opens the same from a ``file://`` link, a presigned link or a copy on
a laptop, offline.

Needs the ``html`` extra (nbconvert, which brings Jinja2).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from pygments.formatters import HtmlFormatter

from . import layout, nbhtml
from .pageresults import MISSING, results_html
from .units import human_duration, human_size
from .writing import PNG_MAGIC

#: No request to any other host, no script: even an escaping bug can load or run nothing.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
MAX_TEXT = 200_000  # characters of context, tails or traceback shown
#: What ``pyexec-store run`` records of the script's output: (label, metadata key).
TAILS = (("traceback", "traceback"), ("stdout", "stdout_tail"), ("stderr", "stderr_tail"))


@dataclass
class AttemptView:
    """One attempt notebook, as its file and its recorded metadata describe it."""

    number: int
    stage: str
    file: str
    """Path relative to the execution folder."""
    notebook_type: str = "execution_attempt"
    created_at: str | None = None
    error_context: str | None = None
    notebook: Mapping[str, Any] | None = None
    """The parsed notebook, or ``None`` when it could not be read."""


@dataclass
class PageData:
    """Everything an execution page shows, read from the store."""

    folder: str
    """The execution folder's name."""
    name: str
    execution_id: str
    status: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    final_notebook: Mapping[str, Any] | None = None
    results: Any = MISSING
    """The parsed ``results.json``; :data:`MISSING` when there is none."""
    results_note: str | None = None
    """Why the results are not shown (too large, unreadable)."""
    context: Any = MISSING
    attempts: list[AttemptView] = field(default_factory=list)
    figures: dict[str, bytes] = field(default_factory=dict)
    """Stored figures by path relative to the folder (``figures/figure_01.png``)."""
    files: dict[str, int] = field(default_factory=dict)
    """Every file of the execution and its size in bytes."""


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("pyexec_store", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.cache
def highlight_css() -> str:
    """Pygments' colours for highlighted code (nbconvert marks it ``.highlight``)."""
    return str(HtmlFormatter(style="default").get_style_defs(".highlight"))


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S %z}".strip() if value else "-"


def _shown(text: object) -> str:
    """Text for a ``<pre>``: at most :data:`MAX_TEXT` characters."""
    value = text if isinstance(text, str) else str(text)
    if len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + f"\n… ({len(value) - MAX_TEXT} more characters)"
    return value


def _json_text(value: Any) -> str:
    try:
        text = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except (TypeError, orjson.JSONEncodeError):  # integers beyond 64 bits
        import json

        text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return _shown(text)


def _facts(data: PageData) -> list[tuple[str, str]]:
    meta = data.metadata
    started, finished = _time(meta.get("created_at")), _time(meta.get("finished_at"))
    seconds = meta.get("duration_seconds")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        seconds = (finished - started).total_seconds() if started and finished else None
    writer = meta.get("writer")
    host = writer.get("host") if isinstance(writer, Mapping) else None
    facts = [
        ("id", data.execution_id),
        ("started", _when(started)),
        ("finished", _when(finished)),
        ("duration", human_duration(seconds)),
        ("host", str(host) if host else "-"),
    ]
    if "exit_status" in meta:
        facts.append(("exit status", str(meta["exit_status"])))
    facts.append(("attempts", str(len(data.attempts))))
    facts.append(("figures", str(len(data.figures))))
    return facts


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _attempts(data: PageData) -> list[dict[str, Any]]:
    shown = []
    for attempt in sorted(data.attempts, key=lambda a: (a.number, a.file)):
        html = None
        if attempt.notebook is not None:
            html, _, _ = nbhtml.notebook_html(attempt.notebook)
        shown.append(
            {
                "attempt": attempt,
                "time": _when(_time(attempt.created_at)),
                "kind": attempt.notebook_type.replace("_", " "),
                "html": Markup(html) if html is not None else None,
            }
        )
    return shown


def render(data: PageData) -> str:
    """The page, as one HTML document (UTF-8 text)."""
    from . import __version__

    results_block = None
    if data.results is not MISSING:
        results_block = results_html(data.results)
    notebook = None
    used: set[str] = set()
    placed = False
    if data.final_notebook is not None:
        html, used, placed = nbhtml.notebook_html(
            data.final_notebook, figures=data.figures, results_html=results_block
        )
        notebook = Markup(html)
    other_figures = [
        (name, _png_uri(png))
        for name, png in sorted(data.figures.items())
        if name not in used and png.startswith(PNG_MAGIC)
    ]
    meta = data.metadata
    error = meta.get("error")
    tails = [
        (label, _shown(meta[key]))
        for label, key in (
            ("traceback", "traceback"),
            ("stdout", "stdout_tail"),
            ("stderr", "stderr_tail"),
        )
        if isinstance(meta.get(key), str) and meta[key].strip()
    ]
    page = _environment().get_template("execution.html.j2")
    return page.render(
        csp=CSP,
        css=Markup(highlight_css()),
        data=data,
        facts=_facts(data),
        error=_shown(error) if error is not None else None,
        notebook=notebook,
        results=Markup(results_block) if results_block is not None and not placed else None,
        results_note=data.results_note,
        other_figures=other_figures,
        attempts=_attempts(data),
        context=_json_text(data.context) if data.context is not MISSING else None,
        tails=tails,
        files=[(n, human_size(s)) for n, s in sorted(data.files.items()) if n != layout.PAGE_FILE],
        version=__version__,
        rendered_at=_when(datetime.now().astimezone()),
    )
