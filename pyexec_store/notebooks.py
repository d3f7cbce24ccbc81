"""Notebook content, cell for cell as the seed builds it (pure logic, no I/O).

The context and results cells use plain :mod:`json`, so a notebook runs in any
kernel, with or without pyexec_store installed.

Notebooks are built as plain nbformat-4 dicts and written with orjson. Their
shape is fixed here and every text in them is a ``str``, so they are valid by
construction; the tests check that with ``nbformat.validate`` for any input,
instead of paying for a JSON-schema validation on every write.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import PurePath, PurePosixPath
from typing import Any
from urllib.parse import quote

import orjson

#: nbformat 4.5: the first minor version with cell ids.
NBFORMAT = (4, 5)
Notebook = dict[str, Any]

_CONTEXT_CELL = """# Load execution context
import json
with open({path!r}) as f:
    context = json.load(f)"""

_RESULTS_CELL = """import json
with open('results.json', 'r') as f:
    results = json.load(f)
print(results)"""


def _cell(cell_type: str, source: str) -> dict[str, Any]:
    cell: dict[str, Any] = {
        "cell_type": cell_type,
        "id": uuid.uuid4().hex[:8],
        "metadata": {},
        "source": source,
    }
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _notebook(cells: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> Notebook:
    metadata: dict[str, Any] = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    if extra:
        metadata["pyexec_store"] = extra
    return {
        "nbformat": NBFORMAT[0],
        "nbformat_minor": NBFORMAT[1],
        "metadata": metadata,
        "cells": cells,
    }


# Markup that could start emphasis, a link, an image, HTML or code; "_" only at a
# word's edge (inside a word, as in pre_execution, it is plain text).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*{}\[\]()#!|<>~&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def inline_text(text: str) -> str:
    """``text`` as literal inline markdown: one line, no markup, no HTML."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _CONTROL.sub(" ", text))


def fenced(text: str) -> str:
    """``text`` in a fenced block that nothing inside it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def has_results(results: object) -> bool:
    """Whether there are results to show (the original's ``if results:``, for any value)."""
    if results is None:
        return False
    try:
        return len(results) > 0  # type: ignore[arg-type]
    except Exception:  # no len(), or a lazy object that cannot say
        pass
    try:
        return bool(results)
    except Exception:  # arrays and frames have no single truth value: they are results
        return True


def attempt_notebook(
    attempt_number: int,
    stage: str,
    code: str,
    *,
    error_context: str | None = None,
    approval_context: str | None = None,
    with_context: bool = True,
    now: datetime | None = None,
    metadata: dict[str, Any] | None = None,
) -> Notebook:
    """The notebook of one attempt: header, context cell (when there is a context), code.

    The stage is escaped and the approval and error texts are fenced, so no
    text from generated code can hide the rest of the header or load remote
    content in a viewer. ``metadata`` goes to the notebook's
    ``metadata.pyexec_store``.
    """
    now = now or datetime.now()
    header = f"# Python Executor - Attempt #{attempt_number}\n\n"
    header += f"**Stage:** {inline_text(stage)}\n"
    header += f"**Created:** {now:%Y-%m-%d %H:%M:%S}\n\n"
    if approval_context:
        header += f"{fenced(approval_context)}\n\n"
    if error_context:
        header += f"## Error Context\n{fenced(error_context)}\n\n"
    cells = [_cell("markdown", header)]
    if with_context:
        cells.append(_cell("code", _CONTEXT_CELL.format(path="../context.json")))
    cells.append(_cell("code", code))
    return _notebook(cells, metadata)


def figure_markdown(figure_paths: Iterable[object], execution_folder: PurePath | str) -> str:
    """The "Generated Figures" section, each figure linked relative to the notebook."""
    folder = PurePosixPath(str(execution_folder))
    text = "## Generated Figures\n\n"
    for i, fig in enumerate(figure_paths, 1):
        fig_path = PurePosixPath(str(fig))
        try:
            link = fig_path.relative_to(folder).as_posix()
        except ValueError:
            # Not under the folder: fall back to the bare file name, as the seed does.
            link = fig_path.name
        # Quoted (all but "/"): a path can neither end the link nor become markup.
        text += f"### Figure {i}\n![Figure {i}]({quote(link)})\n\n"
    return text


def final_notebook(
    code: str,
    *,
    results: object = None,
    error_context: str | None = None,
    figure_paths: Iterable[object] = (),
    execution_folder: PurePath | str | None = None,
    with_context: bool = True,
) -> Notebook:
    """The final notebook: outcome header, context cell, code, results and figures sections."""
    if error_context:
        header = (
            f"# Python Executor - Failed Execution\n\n## Error Context\n{fenced(error_context)}\n\n"
        )
    else:
        header = "# Python Executor - Successful Execution\n\nExecution completed successfully.\n\n"
    cells = [_cell("markdown", header)]
    if with_context:
        cells.append(_cell("code", _CONTEXT_CELL.format(path="context.json")))
    cells.append(_cell("code", code))
    if has_results(results):
        cells.append(_cell("markdown", "## Execution Results\n\nResults saved to `results.json`"))
        cells.append(_cell("code", _RESULTS_CELL))
    figures = list(figure_paths)
    if figures and execution_folder is not None:
        cells.append(_cell("markdown", figure_markdown(figures, execution_folder)))
    return _notebook(cells)


def to_bytes(notebook: Notebook) -> bytes:
    """Serialise a notebook: ``.ipynb`` JSON, UTF-8, keys sorted, indented by 2, newline-ended."""
    try:
        return orjson.dumps(notebook, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    except orjson.JSONEncodeError:
        # Text that is not valid UTF-8 (lone surrogates) survives only as JSON escapes;
        # the layout is the same.
        return json.dumps(notebook, indent=2, sort_keys=True).encode("ascii") + b"\n"
