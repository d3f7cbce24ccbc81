"""Notebook content, cell for cell as the seed builds it (pure logic, no I/O).

The context and results cells use plain :mod:`json`, so a notebook runs in any
kernel, with or without pyexec_store installed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import PurePath, PurePosixPath

import nbformat
from nbformat import NotebookNode

_CONTEXT_CELL = """# Load execution context
import json
with open({path!r}) as f:
    context = json.load(f)"""

_RESULTS_CELL = """import json
with open('results.json', 'r') as f:
    results = json.load(f)
print(results)"""


def _cell(cell_type: str, source: str) -> NotebookNode:
    # Built as data, not with nbformat.v4.new_*_cell: those validate each cell on
    # its own, and the whole notebook is validated once when it is written.
    cell: dict[str, object] = {
        "cell_type": cell_type,
        "id": uuid.uuid4().hex[:8],
        "metadata": {},
        "source": source,
    }
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return nbformat.from_dict(cell)


def _notebook(cells: list[NotebookNode]) -> NotebookNode:
    return nbformat.from_dict(
        {
            "nbformat": nbformat.v4.nbformat,
            "nbformat_minor": nbformat.v4.nbformat_minor,
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"},
            },
            "cells": cells,
        }
    )


def attempt_notebook(
    attempt_number: int,
    stage: str,
    code: str,
    *,
    error_context: str | None = None,
    approval_context: str | None = None,
    with_context: bool = True,
    now: datetime | None = None,
) -> NotebookNode:
    """The notebook of one attempt: header, context cell (when there is a context), code."""
    now = now or datetime.now()
    header = f"# Python Executor - Attempt #{attempt_number}\n\n"
    header += f"**Stage:** {stage}\n"
    header += f"**Created:** {now:%Y-%m-%d %H:%M:%S}\n\n"
    if approval_context:
        header += f"{approval_context}\n\n"
    if error_context:
        header += f"## Error Context\n{error_context}\n\n"
    cells = [_cell("markdown", header)]
    if with_context:
        cells.append(_cell("code", _CONTEXT_CELL.format(path="../context.json")))
    cells.append(_cell("code", code))
    return _notebook(cells)


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
        text += f"### Figure {i}\n![Figure {i}]({link})\n\n"
    return text


def final_notebook(
    code: str,
    *,
    results: object = None,
    error_context: str | None = None,
    figure_paths: Iterable[object] = (),
    execution_folder: PurePath | str | None = None,
    with_context: bool = True,
) -> NotebookNode:
    """The final notebook: outcome header, context cell, code, results and figures sections."""
    if error_context:
        header = f"# Python Executor - Failed Execution\n\n## Error Context\n{error_context}\n\n"
    else:
        header = "# Python Executor - Successful Execution\n\nExecution completed successfully.\n\n"
    cells = [_cell("markdown", header)]
    if with_context:
        cells.append(_cell("code", _CONTEXT_CELL.format(path="context.json")))
    cells.append(_cell("code", code))
    if results:
        cells.append(_cell("markdown", "## Execution Results\n\nResults saved to `results.json`"))
        cells.append(_cell("code", _RESULTS_CELL))
    figures = list(figure_paths)
    if figures and execution_folder is not None:
        cells.append(_cell("markdown", figure_markdown(figures, execution_folder)))
    return _notebook(cells)


def to_bytes(notebook: NotebookNode) -> bytes:
    """Validate and serialise a notebook (nbformat v4 JSON, UTF-8)."""
    problems: dict[str, Exception] = {}
    # nbformat.writes validates anyway; capture its verdict instead of validating twice.
    text: str = nbformat.writes(notebook, capture_validation_error=problems)
    if problems:
        raise problems["ValidationError"]
    return text.encode("utf-8")
