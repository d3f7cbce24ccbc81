"""Baseline: the original results serializer's approach, reimplemented for comparison.

The original converted every value with the standard library
(``json.loads(json.dumps(obj, default=...))``) and then wrote the converted tree
again with ``json.dump(..., indent=2)``. This module reproduces that approach and
its ``default`` callback, branch for branch, so the benchmark measures the same
work and the tests can compare against it. It is not part of the package.
"""

from __future__ import annotations

import json
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
