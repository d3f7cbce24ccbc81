"""Rendering execution pages: time, requests and size, per backend.

The execution is the usual one, as ``pyexec-store run examples/sensor_analysis.py``
records it, plus the retries an agent makes: context, 3 attempt notebooks,
results with a table (a pandas frame), 2 matplotlib figures, the final
notebook, finished. ``store.render_page(ctx)`` reads it all back (one listing,
one batch of reads), renders the page with nbconvert and writes it (plus the
metadata that records it).

- *first render in a new process*: what ``pyexec-store run`` pays once,
  importing nbconvert and compiling its templates included (a fresh
  interpreter per measurement);
- *render_page*: every render after that, per backend (memory, local disk,
  S3 on moto's server on 127.0.0.1, whose requests are counted);
- *build only*: ``pages.render`` on data already read, no I/O.

Run: ``.venv/bin/python benchmarks/bench_pages.py`` (or ``make bench``).
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench-secret",
    AWS_EC2_METADATA_DISABLED="true",
    MPLBACKEND="Agg",
)

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from s3server import RecordingMotoServer

import pyexec_store as ps
from pyexec_store import rendering

ROUNDS = 20
COLD_RUNS = 3
CODE = (Path(__file__).resolve().parent.parent / "examples" / "sensor_analysis.py").read_text()


def sensor_data() -> tuple[dict[str, object], list[bytes]]:
    """The results and figures of examples/sensor_analysis.py."""
    rng = np.random.default_rng(7)
    hours = pd.date_range("2026-11-01", periods=24 * 7, freq="h")
    temperature = 21 + 3 * np.sin(np.arange(hours.size) * 2 * np.pi / 24)
    temperature = temperature + rng.normal(0, 0.4, hours.size)
    readings = pd.DataFrame({"time": hours, "temperature": temperature})
    readings["day"] = readings["time"].dt.day_name()
    daily = readings.groupby("day", sort=False)["temperature"].agg(["mean", "min", "max"])
    figures = []
    for size in ((8, 3), (5, 3)):
        fig, ax = plt.subplots(figsize=size)
        ax.plot(readings["time"], readings["temperature"], linewidth=0.8)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        figures.append(buffer.getvalue())
    results = {
        "readings": len(readings),
        "mean": float(readings["temperature"].mean()),
        "daily": daily.round(2),
        "anomalies": ["2026-11-01 07:00", "2026-11-01 18:00", "2026-11-04 07:00"],
    }
    return results, figures


RESULTS, FIGURES = sensor_data()


def record(store: ps.ArtifactStore) -> ps.PythonExecutionContext:
    ctx = store.create_execution("sensor_analysis")
    store.save_context(ctx, {"task": "summarise sensor T-101", "threshold": 3.5})
    store.create_attempt_notebook(ctx, CODE, stage="code_generation")
    store.create_attempt_notebook(
        ctx, CODE, stage="execution", error_context="KeyError: 'temp'\n" * 20
    )
    store.create_attempt_notebook(ctx, CODE, stage="execution", approval_context="approved")
    store.save_results(ctx, RESULTS)
    figures = store.save_figures(ctx, FIGURES)
    store.create_final_notebook(ctx, CODE, results=RESULTS, figure_paths=figures)
    store.finish_execution(ctx, success=True)
    return ctx


def median_ms(fn: Callable[[], object]) -> float:
    fn()  # warm up
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def cold(root: Path) -> float:
    """Seconds for the first render_page in a fresh interpreter (imports included)."""
    store = ps.open_store(root)
    key = store.key(record(store).folder_path)
    code = (
        "import time, pyexec_store as ps\n"
        f"store = ps.open_store({str(root)!r})\n"
        f"ctx = store.open_execution({key!r})\n"
        "t = time.perf_counter(); store.render_page(ctx); print(time.perf_counter() - t)\n"
    )
    command = [sys.executable, "-c", code]
    runs = [
        float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        for _ in range(COLD_RUNS)
    ]
    return statistics.median(runs)


def main() -> None:
    from pyexec_store import pages

    rendering.check_available()
    lines = [
        f"Rounds: {ROUNDS} (median); machine: {os.cpu_count()} cores; "
        f"figures {', '.join(f'{len(f) / 1000:.1f} KB' for f in FIGURES)}.",
        "",
        "| case | ms (median) | requests | page size |",
        "|---|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        first = cold(Path(tmp) / "cold") * 1000
        lines.append(f"| first render in a new process (local) | {first:.0f} | - | - |")
        local = ps.open_store(Path(tmp) / "local")
        ctx = record(local)
        size = len(local.render_page(ctx).read_bytes()) / 1000
        ms = median_ms(lambda: local.render_page(ctx))
        lines.append(f"| render_page, local disk | {ms:.1f} | - | {size:.0f} KB |")
        folder = local.key(ctx.folder_path)
        data = rendering.page_data(local.backend, local.urls, folder, dict(ctx.metadata))
        ms = median_ms(lambda: pages.render(data))
        lines.append(f"| build only (pages.render, no I/O) | {ms:.1f} | - | - |")
    memory = ps.open_store(f"memory://bench-pages-{uuid.uuid4().hex[:6]}")
    ctx = record(memory)
    ms = median_ms(lambda: memory.render_page(ctx))
    lines.append(f"| render_page, memory | {ms:.1f} | - | - |")

    server = RecordingMotoServer()
    server.start()
    try:
        import boto3

        boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1").create_bucket(
            Bucket="bench"
        )
        s3 = ps.open_store(
            "s3://bench/pages", endpoint_url=server.endpoint_url, key="bench", secret="bench-secret"
        )
        ctx = record(s3)
        s3.render_page(ctx)
        server.take_requests()
        s3.render_page(ctx)
        requests = server.take_requests()
        kinds = ", ".join(
            f"{n} {m}" for m, n in sorted(Counter(r.method for r in requests).items())
        )
        ms = median_ms(lambda: s3.render_page(ctx))
        count = f"{len(requests)} ({kinds})"
        lines.append(f"| render_page, S3 (moto on 127.0.0.1) | {ms:.1f} | {count} | - |")
    finally:
        server.stop()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
