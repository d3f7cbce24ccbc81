"""The original summary record of a matplotlib figure."""

from __future__ import annotations

from typing import Any

from ._text import has, safe_str, type_name


def is_matplotlib_figure(obj: Any) -> bool:
    """The original's duck-typed check: ``savefig``, ``get_axes`` and a class named Figure."""
    return has(obj, "savefig") and has(obj, "get_axes") and type_name(obj) == "Figure"


def figure_record(fig: Any) -> dict[str, Any]:
    """Size, dpi, and per axes: title, labels, limits and line data; or an error record."""
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
                        "xdata": xdata.tolist() if has(xdata, "tolist") else list(xdata),
                        "ydata": ydata.tolist() if has(ydata, "tolist") else list(ydata),
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
            "_error": f"Failed to serialize figure: {safe_str(e)}",
            "_fallback": safe_str(fig),
        }
