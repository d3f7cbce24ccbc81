"""Baseline: the original module's approach, reimplemented for comparison.

The original results serializer converted every value with the standard
library (``json.loads(json.dumps(obj, default=...))``) and then wrote the
converted tree again with ``json.dump(..., indent=2)``. This module reproduces
that approach and its ``default`` callback, branch for branch, so the benchmark
measures the same work and the tests can compare against it; and
:func:`record_execution` writes a whole execution as the original services
did. It is not part of the package.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any


def _is_matplotlib_figure(obj: Any) -> bool:
    return hasattr(obj, "savefig") and hasattr(obj, "get_axes") and type(obj).__name__ == "Figure"


def _serialize_matplotlib_figure(fig: Any) -> dict[str, Any]:
    try:
        axes_info = []
        for ax in fig.get_axes():
            ax_info: dict[str, Any] = {
                "title": ax.get_title(),
                "xlabel": ax.get_xlabel(),
                "ylabel": ax.get_ylabel(),
                "xlim": ax.get_xlim(),
                "ylim": ax.get_ylim(),
            }
            lines_data = []
            for line in ax.get_lines():
                xdata, ydata = line.get_xdata(), line.get_ydata()
                lines_data.append(
                    {
                        "xdata": xdata.tolist() if hasattr(xdata, "tolist") else list(xdata),
                        "ydata": ydata.tolist() if hasattr(ydata, "tolist") else list(ydata),
                        "label": line.get_label(),
                    }
                )
            ax_info["lines"] = lines_data
            axes_info.append(ax_info)
        return {
            "_type": "matplotlib_figure",
            "figure_size": fig.get_size_inches().tolist(),
            "dpi": fig.get_dpi(),
            "axes": axes_info,
            "_note": "Matplotlib figure serialized with basic plot data",
        }
    except Exception as e:
        return {
            "_type": "matplotlib_figure",
            "_error": f"Failed to serialize figure: {e!s}",
            "_fallback": str(fig),
        }


def enhanced_json_serializer(obj: Any) -> Any:
    """The original ``default`` callback, in its original order."""
    if isinstance(obj, datetime):
        return obj.isoformat()
    elif hasattr(obj, "tolist"):
        try:
            return obj.tolist()
        except (ValueError, AttributeError):
            pass
    elif hasattr(obj, "item"):
        try:
            return obj.item()
        except ValueError:
            pass
    elif _is_matplotlib_figure(obj):
        return _serialize_matplotlib_figure(obj)
    elif hasattr(obj, "to_dict") and hasattr(obj, "index"):
        return obj.to_dict()
    elif isinstance(obj, Path):
        return str(obj)
    elif isinstance(obj, (set, frozenset)):
        return {"items": list(obj), "_type": type(obj).__name__}
    elif isinstance(obj, complex):
        return {"real": obj.real, "imag": obj.imag, "_type": "complex"}
    elif hasattr(obj, "to_dict") and callable(obj.to_dict):
        return obj.to_dict()
    else:
        return {
            "value": str(obj),
            "type": type(obj).__name__,
            "module": getattr(type(obj), "__module__", "unknown"),
            "_serialization_note": "converted_to_string",
        }
    return None  # a failed ``tolist``/``item`` falls out of the chain: null


def make_json_serializable(obj: Any) -> Any:
    """The original conversion: a full stdlib round trip through ``default``."""
    try:
        return json.loads(json.dumps(obj, default=enhanced_json_serializer, ensure_ascii=False))
    except (TypeError, ValueError) as e:
        return {
            "_serialization_failed": True,
            "_original_type": type(obj).__name__,
            "_error": str(e),
            "_string_representation": str(obj),
        }


def serialize_results_to_file(results: Any, file_path: str) -> dict[str, Any]:
    """The original writer: convert, then ``json.dump(indent=2)`` straight into the file."""
    metadata: dict[str, Any] = {
        "success": False,
        "file_path": file_path,
        "error": None,
        "serialization_warnings": [],
    }
    try:
        serializable_results = make_json_serializable(results)
        with open(file_path, "w", encoding="utf-8") as f:
            json.dump(serializable_results, f, indent=2, ensure_ascii=False)
        metadata["success"] = True
        return metadata
    except Exception as e:
        metadata["error"] = str(e)
        metadata["error_type"] = type(e).__name__
        try:
            fallback_data = {
                "_serialization_failed": True,
                "_original_error": str(e),
                "_fallback_representation": str(results),
            }
            with open(file_path, "w", encoding="utf-8") as f:
                json.dump(fallback_data, f, indent=2, ensure_ascii=False)
            metadata["fallback_saved"] = True
        except Exception as fallback_error:
            metadata["fallback_error"] = str(fallback_error)
        return metadata


# ---------------------------------------------------------------------------
# A whole execution, the original services' way (local disk)
# ---------------------------------------------------------------------------


def _seed_notebook(header: str, *codes: str) -> Any:
    """A notebook built the original way: ``nbformat.v4.new_*`` for every cell."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(header)] + [
        nbformat.v4.new_code_cell(c) for c in codes
    ]
    return nb


def record_execution(
    base: Path,
    code: str,
    context: dict[str, Any],
    results: Any,
    pngs: Sequence[bytes],
    attempts: int,
) -> Path:
    """One execution written as the original services wrote it, step for step.

    ``mkdir`` and ``chmod`` per folder; notebooks built with ``nbformat.v4.new_*``
    and written with ``nbformat.write`` (which validates them); JSON with
    ``json.dump(indent=2)``; every file straight into its final place. No
    metadata file: the original kept none.
    """
    import uuid

    import nbformat

    now = datetime.now()
    month = base / "executed_scripts" / now.strftime("%Y-%m")
    month.mkdir(parents=True, exist_ok=True)
    folder = month / f"execution_{now:%Y%m%d_%H%M%S}_bench_{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True, exist_ok=True)
    attempts_dir = folder / "attempts"
    attempts_dir.mkdir(exist_ok=True)
    os.chmod(folder, 0o777)
    os.chmod(attempts_dir, 0o777)
    os.chmod(folder, folder.stat().st_mode | 0o2000)
    with open(folder / "context.json", "w") as f:
        json.dump(context, f, indent=2)
    for i in range(attempts):
        header = f"# Python Executor - Attempt #{i + 1}\n\n**Stage:** execution\n"
        nb = _seed_notebook(header, "context = load_context('../context.json')", code)
        with open(attempts_dir / f"{i + 1:02d}_execution_{now:%H%M%S}.ipynb", "w") as f:
            nbformat.write(nb, f)
    serialize_results_to_file(results, str(folder / "results.json"))
    (folder / "figures").mkdir(exist_ok=True)
    paths = []
    for i, png in enumerate(pngs):
        paths.append(folder / "figures" / f"figure_{i + 1:02d}.png")
        paths[-1].write_bytes(png)
    header = "# Python Executor - Successful Execution\n\nExecution completed successfully.\n\n"
    nb = _seed_notebook(header, "context = load_context('context.json')", code, "print(results)")
    nb.cells.append(nbformat.v4.new_markdown_cell("## Execution Results"))
    figures = "".join(
        f"### Figure {i}\n![Figure {i}]({p.name})\n\n" for i, p in enumerate(paths, 1)
    )
    nb.cells.append(nbformat.v4.new_markdown_cell("## Generated Figures\n\n" + figures))
    with open(folder / "notebook.ipynb", "w") as f:
        nbformat.write(nb, f)
    return folder
