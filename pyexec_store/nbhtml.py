"""Notebooks as HTML fragments for execution pages, through nbconvert (pure logic, no I/O).

A stored notebook is not handed to nbconvert as it is. It is first rebuilt from
what a page shows (cell sources, and outputs as plain text, PNG or JPEG), so
nothing from a notebook's metadata reaches a template and no output carrying
HTML or script is rendered. Markdown is rendered by nbconvert's renderer with
raw HTML escaped, harmful link protocols refused and only ``data:`` images; the
figures a notebook links (``![Figure 1](figures/figure_01.png)``) become cell
attachments, embedded from their stored bytes.

Needs the ``html`` extra (nbconvert); importing this module without it fails.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import unquote

import nbformat
from jinja2 import pass_context
from mistune.util import striptags
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

from .notebooks import fenced
from .writing import PNG_MAGIC

#: Output types a page shows, best first; anything else is named, not rendered.
PLAIN_OUTPUTS = ("image/png", "image/jpeg", "text/plain")
_IMAGE_LINK = re.compile(r"!\[(?P<alt>[^\]\n]*)\]\((?P<src>[^)\s]+)\)")
_CELL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg);base64,[A-Za-z0-9+/=]*$")
_JPEG_MAGIC = b"\xff\xd8\xff"
_local = threading.local()


class _SafeMarkdown(IPythonRenderer):
    """nbconvert's markdown renderer, with nothing in the text able to run or load anything.

    Raw HTML is escaped (shown as text), ``javascript:`` and other harmful
    links are refused, a ``mermaid`` block is shown as code (nbconvert would
    emit it unescaped for mermaid.js), and an image is shown only when it is
    embedded (a cell attachment or a ``data:`` PNG/JPEG); otherwise its
    description stands in its place.
    """

    def __init__(self, attachments: Mapping[str, Any]) -> None:
        super().__init__(
            escape=True,
            allow_harmful_protocols=False,
            embed_images=False,
            exclude_anchor_links=True,
            attachments=dict(attachments),
        )

    def block_code(self, code: str, info: str | None = None) -> str:
        if info and info.strip().lower().startswith("mermaid"):
            info = None
        return super().block_code(code, info)

    def image(self, text: str, url: str, title: str | None = None) -> str:
        try:
            src = self._embed_image_or_attachment(url)
        except Exception:  # a missing or malformed attachment
            src = ""
        if not _DATA_IMAGE.match(src):
            alt = escape(striptags(text) or "image", quote=False)
            return f'<span class="missing-image">[{alt}: not stored with this execution]</span>'
        return super().image(text, src, title)


class _PageExporter(HTMLExporter):
    """nbconvert's HTML exporter (``basic`` template: cells only) with safe markdown."""

    @pass_context
    def markdown2html(self, context: Any, source: str) -> str:
        cell = context.get("cell", {})
        renderer = _SafeMarkdown(cell.get("attachments", {}) or {})
        return str(MarkdownWithMath(renderer=renderer).render(source))

    def default_filters(self) -> Any:
        yield from super().default_filters()  # type: ignore[no-untyped-call]
        # The template passes every code cell, highlighted by pygments (which escapes
        # all of its text), through bleach: 40% of a page's time for nothing. Nothing
        # else reaches this filter here: sanitising is off because markdown is escaped
        # by _SafeMarkdown, raw cells become code blocks and outputs carrying HTML or
        # SVG are never rendered (clean_notebook, clean_output).
        yield ("clean_html", _unchanged)


def _unchanged(html: object) -> str:
    return str(html)


def _exporter() -> _PageExporter:
    """One exporter per thread (templates compile once; exporters keep state while converting)."""
    exporter: _PageExporter | None = getattr(_local, "exporter", None)
    if exporter is None:
        exporter = _PageExporter(  # type: ignore[no-untyped-call]
            template_name="basic",  # the cells alone: no MathJax, no require.js, no CDN
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            exclude_anchor_links=True,
        )
        _local.exporter = exporter
    return exporter


def _text(value: object) -> str:
    """A notebook text field: a string, or a list of strings (nbformat allows both)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return ""


def _image_data(mime: str, value: object) -> str | None:
    """Base64 image data that decodes to the image type it claims, else ``None``."""
    text = re.sub(r"\s+", "", _text(value))
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    magic = PNG_MAGIC if mime == "image/png" else _JPEG_MAGIC
    return text if raw.startswith(magic) else None


def clean_output(output: object) -> dict[str, Any] | None:
    """An output as a page shows it: streams, errors, and plain text or images."""
    if not isinstance(output, Mapping):
        return None
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name")
        return {
            "output_type": "stream",
            "name": name if name in ("stdout", "stderr") else "stdout",
            "text": _text(output.get("text")),
        }
    if kind == "error":
        traceback = output.get("traceback")
        return {
            "output_type": "error",
            "ename": _text(output.get("ename")),
            "evalue": _text(output.get("evalue")),
            "traceback": [_text(t) for t in traceback] if isinstance(traceback, list) else [],
        }
    if kind not in ("execute_result", "display_data"):
        return None
    data = output.get("data")
    data = data if isinstance(data, Mapping) else {}
    shown: dict[str, str] = {}
    for mime in PLAIN_OUTPUTS:
        if mime in data:
            value = _image_data(mime, data[mime]) if mime != "text/plain" else _text(data[mime])
            if value is not None:
                shown[mime] = value
                break
    if not shown:
        kinds = ", ".join(sorted(str(k) for k in data)) or "empty"
        shown["text/plain"] = f"[output not shown on this page: {kinds}]"
    return {"output_type": "display_data", "data": shown, "metadata": {}}


def _embed_figures(
    source: str, figures: Mapping[str, bytes], used: set[str]
) -> tuple[str, dict[str, dict[str, str]]]:
    """Markdown with its links to stored figures turned into embedded attachments."""
    attachments: dict[str, dict[str, str]] = {}

    def embed(match: re.Match[str]) -> str:
        name = unquote(match["src"])
        data = figures.get(name)
        if data is None or not data.startswith(PNG_MAGIC):
            return match.group(0)
        used.add(name)
        label = f"f{len(attachments) + 1}.png"
        attachments[label] = {"image/png": base64.b64encode(data).decode("ascii")}
        return f"![{match['alt']}](attachment:{label})"

    return _IMAGE_LINK.sub(embed, source), attachments


def clean_notebook(
    notebook: Mapping[str, Any], figures: Mapping[str, bytes] | None = None
) -> tuple[dict[str, Any], set[str]]:
    """The notebook rebuilt from what a page shows, and the figures it embeds.

    ``figures`` maps a path relative to the execution folder
    (``figures/figure_01.png``) to its stored bytes. Raw cells, and cells of
    unknown types, are shown as their text in a code block.
    """
    cells: list[dict[str, Any]] = []
    used: set[str] = set()
    raw_cells = notebook.get("cells")
    for index, cell in enumerate(raw_cells if isinstance(raw_cells, list) else []):
        if not isinstance(cell, Mapping):
            continue
        kind, source = cell.get("cell_type"), _text(cell.get("source"))
        new: dict[str, Any]
        if kind == "code":
            count = cell.get("execution_count")
            outputs = cell.get("outputs")
            new = {
                "cell_type": "code",
                "execution_count": count if type(count) is int else None,
                "outputs": [
                    o
                    for o in map(clean_output, outputs if isinstance(outputs, list) else [])
                    if o is not None
                ],
                "source": source,
            }
        elif kind == "markdown":
            new = {"cell_type": "markdown", "source": source}
            new["source"], attachments = _embed_figures(source, figures or {}, used)
            if attachments:
                new["attachments"] = attachments
        else:
            new = {"cell_type": "markdown", "source": fenced(source)}
        cell_id = cell.get("id")
        new["id"] = cell_id if isinstance(cell_id, str) and _CELL_ID.match(cell_id) else f"c{index}"
        new["metadata"] = {}
        cells.append(new)
    clean = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"language_info": {"name": "python"}},
        "cells": cells,
    }
    return clean, used


def is_results_cell(cell: Mapping[str, Any]) -> bool:
    """Whether a code cell is the one that loads ``results.json``."""
    source = _text(cell.get("source"))
    return cell.get("cell_type") == "code" and "results.json" in source and "json.load" in source


def notebook_html(
    notebook: Mapping[str, Any],
    *,
    figures: Mapping[str, bytes] | None = None,
    results_html: str | None = None,
) -> tuple[str, set[str], bool]:
    """A notebook as an HTML fragment: the cells, code highlighted, figures embedded.

    Parameters
    ----------
    notebook
        The notebook as parsed from its JSON (never trusted: see the module).
    figures
        Stored figures by path relative to the execution folder.
    results_html
        Safe HTML showing the values of ``results.json``: it becomes the
        output of the cell that loads them, as if the notebook had been run.

    Returns
    -------
    (html, figures embedded, whether the results found their cell)
    """
    clean, used = clean_notebook(notebook, figures)
    placed = False
    if results_html is not None:
        for cell in clean["cells"]:
            if is_results_cell(cell):
                output = {"output_type": "display_data", "metadata": {}}
                cell["outputs"] = [{**output, "data": {"text/html": results_html}}]
                placed = True
                break
    node = nbformat.from_dict(clean)  # type: ignore[no-untyped-call]
    html, _ = _exporter().from_notebook_node(node)
    return html, used, placed
