"""Charts of benchmark reports (matplotlib, which ``pip install matplotlib`` provides)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..errors import MissingDependencyError
from .stats import StoreReport
from .workload import OPERATIONS


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (files only, no window)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("charts need matplotlib: pip install matplotlib") from None
    return plt


def short_label(url: str, width: int = 28) -> str:
    """A store URL shortened to ``width`` characters for a chart axis."""
    return url if len(url) <= width else "…" + url[-(width - 1) :]


def plot_reports(reports: Sequence[StoreReport], path: str | os.PathLike[str]) -> None:
    """Write a PNG comparing the stores: latency, executions per second, cost per call.

    Parameters
    ----------
    reports
        What :func:`~pyexec_store.bench.bench` returned.
    path
        The PNG file to write.

    Raises
    ------
    MissingDependencyError
        Without matplotlib.
    """
    plt = pyplot()
    labels = [short_label(r.url) for r in reports]
    fig, (latency, throughput, calls) = plt.subplots(1, 3, figsize=(15, 4.8))
    width = 0.8 / 3
    for i, (q, name) in enumerate(((50, "p50"), (95, "p95"), (99, "p99"))):
        values = []
        for report in reports:
            one = min(report.runs, key=lambda r: r.workers)
            values.append(one.latency(q) * 1000)
        xs = [x + (i - 1) * width for x in range(len(reports))]
        latency.bar(xs, values, width, label=name)
    _log_if_wide(latency)
    latency.set_xticks(range(len(reports)), labels, rotation=15, ha="right")
    latency.set_ylabel("ms per execution (one writer)")
    latency.set_title("Latency of a whole execution")
    latency.legend()

    levels = sorted({run.workers for r in reports for run in r.runs})
    width = 0.8 / max(1, len(levels))
    for i, workers in enumerate(levels):
        values = []
        for report in reports:
            runs = [r for r in report.runs if r.workers == workers]
            values.append(runs[0].executions_per_second if runs else 0.0)
        xs = [x + (i - (len(levels) - 1) / 2) * width for x in range(len(reports))]
        throughput.bar(xs, values, width, label=f"{workers} writer{'s' if workers > 1 else ''}")
    _log_if_wide(throughput)
    throughput.set_xticks(range(len(reports)), labels, rotation=15, ha="right")
    throughput.set_ylabel("executions per second")
    throughput.set_title("Throughput")
    throughput.legend()

    bottoms = [0.0] * len(reports)
    for name in OPERATIONS:
        values = []
        for report in reports:
            ops = report.operations()
            count = report.workload.attempts if name == "create_attempt_notebook" else 1
            values.append(ops.get(name, 0.0) * 1000 * count)
        calls.barh(range(len(reports)), values, left=bottoms, label=name)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    calls.set_yticks(range(len(reports)), labels)
    calls.invert_yaxis()
    calls.set_xlabel("ms per execution (medians of each call)")
    calls.set_title("Where the time goes")
    calls.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=110)
    plt.close(fig)


def _log_if_wide(ax: Any) -> None:
    """A log scale when the bars span more than a factor of 20 (memory beside S3)."""
    heights = [p.get_height() for p in ax.patches if p.get_height() > 0]
    if heights and max(heights) / min(heights) > 20:
        ax.set_yscale("log")
