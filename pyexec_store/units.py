"""Sizes and durations as people read them (pure): ``42.9 KB``, ``3 m 05 s``."""

from __future__ import annotations


def human_duration(seconds: float | None) -> str:
    """``0.9 s``, ``3 m 05 s``, ``2 h 10 m``."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    return (
        f"{minutes} m {secs:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} m"
    )


def human_size(size: int) -> str:
    """``838 B``, ``42.9 KB``, ``1.2 MB``."""
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
