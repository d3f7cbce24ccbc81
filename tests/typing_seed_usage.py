"""Code written as the original executor's callers write it, unchanged.

Not a test module: ``test_compat.py`` runs ``mypy --strict`` on it, so the
drop-ins stay usable from code typed against the original's signatures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyexec_store as ps
from pyexec_store import FileManager, NotebookManager, PythonExecutionContext


def run_attempt(configurable: dict[str, Any], code: str, results: dict[str, Any]) -> str:
    file_manager = FileManager(configurable)
    notebook_manager = NotebookManager(configurable)
    context: PythonExecutionContext = file_manager.create_execution_folder("data_analysis")
    notebook_path: Path = notebook_manager.create_attempt_notebook(
        context=context,
        code=code,
        stage="execution",
        error_context=None,
        approval_context=None,
        silent=True,
    )
    results_path: Path = file_manager.save_results(results, context.folder_path)
    figure_paths: list[Path] = [results_path.parent / "figures" / "figure_01.png"]
    final: Path = notebook_manager.create_final_notebook(
        context=context,
        code=code,
        results=results,
        error_context=None,
        figure_paths=figure_paths,
    )
    loaded: dict[str, Any] | None = ps.load_context(context.context_file_path)
    if loaded is None:
        loaded = ps.load_context("context.json")
    base: Path = file_manager.base_dir
    print(notebook_path.name, final.name, base.name, loaded)
    return file_manager._create_jupyter_url(final)


def serialize(results: dict[str, Any], folder: Path) -> bool:
    metadata: dict[str, Any] = ps.serialize_results_to_file(results, str(folder / "results.json"))
    ok: bool = metadata["success"]
    return ok and ps.make_json_serializable(results) is not None
