"""The values of ``results.json`` as HTML for the execution page (pure logic, no I/O).

Results are shown as data, not as JSON text: a mapping is a table of names and
values, a table-shaped value (pandas' ``{column: {row: value}}``, a list of
records) is a table, a short list of numbers is one line. Every text is
escaped, so a result holding ``<script>`` shows those characters and runs
nothing. Large values are cut, saying how much was left out.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

#: What a missing value (no ``results.json``, no ``context.json``) is.
MISSING: Final = object()
MAX_ROWS = 200
MAX_COLUMNS = 50
MAX_ITEMS = 100
MAX_INLINE = 20
MAX_STRING = 5_000
MAX_DEPTH = 5


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _more(count: int, what: str) -> str:
    return f'<p class="more">… {count} more {what} not shown</p>' if count > 0 else ""


def scalar_html(value: object) -> str:
    """One scalar, typed by its class (``null``, ``true``, a number, a string)."""
    if value is None:
        return '<span class="j-null">null</span>'
    if isinstance(value, bool):
        return f'<span class="j-bool">{"true" if value else "false"}</span>'
    if isinstance(value, (int, float)):
        return f'<span class="j-num">{escape(repr(value))}</span>'
    text = str(value)
    cut = ""
    if len(text) > MAX_STRING:
        text, cut = text[:MAX_STRING], f"… ({len(text) - MAX_STRING} more characters)"
    if "\n" in text:
        return f'<pre class="j-str">{escape(text)}{escape(cut)}</pre>'
    return f'<span class="j-str">{escape(text)}{escape(cut)}</span>'


def _frame_columns(value: Mapping[str, Any]) -> list[str] | None:
    """The row labels of a ``{column: {row: scalar}}`` mapping (a pandas frame), else ``None``."""
    if not value or not all(
        isinstance(col, Mapping) and col and all(_is_scalar(v) for v in col.values())
        for col in value.values()
    ):
        return None
    rows: dict[str, None] = {}
    for col in value.values():
        rows.update(dict.fromkeys(col))
    return list(rows)


def _table(columns: list[str], rows: Sequence[tuple[str | None, list[Any]]], hidden: int) -> str:
    shown_columns = columns[:MAX_COLUMNS]
    labelled = any(label is not None for label, _ in rows)
    head = "".join(f"<th>{escape(str(c))}</th>" for c in shown_columns)
    body = []
    for label, cells in rows[:MAX_ROWS]:
        row = f"<th>{escape(str(label))}</th>" if labelled else ""
        row += "".join(f"<td>{scalar_html(c)}</td>" for c in cells[:MAX_COLUMNS])
        body.append(f"<tr>{row}</tr>")
    corner = "<th></th>" if labelled else ""
    more = _more(max(len(rows) - MAX_ROWS, 0) + hidden, "rows")
    more += _more(len(columns) - MAX_COLUMNS, "columns")
    return (
        f'<table class="data"><thead><tr>{corner}{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{more}"
    )


def _mapping_html(value: Mapping[str, Any], depth: int) -> str:
    rows = list(itertools.islice(value, MAX_ROWS))
    if not rows:
        return '<span class="j-empty">{}</span>'
    frame_rows = _frame_columns(value)
    if frame_rows is not None:
        columns = [str(c) for c in value]
        cells = [(str(r), [value[c].get(r) for c in value]) for r in frame_rows]
        return _table(columns, cells, 0)
    body = "".join(
        f"<tr><th>{escape(str(k))}</th><td>{value_html(value[k], depth + 1)}</td></tr>"
        for k in rows
    )
    return f'<table class="kv"><tbody>{body}</tbody></table>' + _more(
        len(value) - len(rows), "keys"
    )


def _list_html(value: list[Any], depth: int) -> str:
    if not value:
        return '<span class="j-empty">[]</span>'
    if all(_is_scalar(v) and not (isinstance(v, str) and "\n" in v) for v in value):
        if len(value) <= MAX_INLINE:
            return '<span class="j-list">' + ", ".join(scalar_html(v) for v in value) + "</span>"
        items = "".join(f"<li>{scalar_html(v)}</li>" for v in value[:MAX_ITEMS])
        return f'<ol class="j-items" start="0">{items}</ol>' + _more(
            len(value) - MAX_ITEMS, "items"
        )
    if all(isinstance(v, Mapping) and all(_is_scalar(x) for x in v.values()) for v in value):
        columns = list(dict.fromkeys(k for v in value[:MAX_ROWS] for k in v))
        rows = [(None, [v.get(c) for c in columns]) for v in value[:MAX_ROWS]]
        return _table([str(c) for c in columns], rows, len(value) - len(rows))
    return _items(value, depth)


def _items(value: list[Any], depth: int) -> str:
    """A numbered list (from 0, as Python indexes it) of at most :data:`MAX_ITEMS` values."""
    items = "".join(f"<li>{value_html(v, depth + 1)}</li>" for v in value[:MAX_ITEMS])
    return f'<ol class="j-items" start="0">{items}</ol>' + _more(len(value) - MAX_ITEMS, "items")


def value_html(value: Any, depth: int = 0) -> str:
    """Any JSON value as HTML; deeper than :data:`MAX_DEPTH` levels it is cut."""
    if _is_scalar(value):
        return scalar_html(value)
    if depth >= MAX_DEPTH:
        return '<span class="more">… (nested deeper than shown here)</span>'
    if isinstance(value, Mapping):
        return _mapping_html(value, depth)
    if isinstance(value, list):
        return _list_html(value, depth)
    return scalar_html(str(value))


def results_html(results: Any) -> str:
    """The block a page shows for ``results.json``."""
    return f'<div class="results">{value_html(results)}</div>'
