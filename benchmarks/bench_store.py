"""Recording whole executions: time, requests and peak memory, per backend.

One execution is what an executor does for a typical run: create, context,
3 attempt notebooks, results, 2 figures, the final notebook, finish.

- Local disk: pyexec_store against the original services' approach (mkdir and
  chmod per folder, ``nbformat.write`` and ``json.dump`` straight into the
  final file), reimplemented here as the baseline.
- S3 (moto's server on 127.0.0.1): pyexec_store against the same objects
  written through fsspec's generic file API (``UPath.write_bytes`` after
  ``mkdir``), as a general-purpose artifact writer would; requests are counted
  on what the server receives.

Rounds alternate between the contenders so that a noisy machine affects both.
Run: ``.venv/bin/python benchmarks/bench_store.py`` (or ``make bench``).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench-secret",
    AWS_EC2_METADATA_DISABLED="true",
)

from s3server import RecordingMotoServer

import pyexec_store as ps
from pyexec_store import notebooks

ROUNDS = 7
EXECUTIONS = 20  # per round
CODE = "import numpy as np\nx = np.arange(10)\nresults = {'sum': int(x.sum())}\n" * 5
RESULTS = {"sum": 45, "values": list(range(200)), "label": "sensor T-101", "ok": True}
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(20_000)


def ours(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("bench")
    store.save_context(ctx, {"task": "bench", "n": 3})
    for i in range(3):
        store.create_attempt_notebook(
            ctx, CODE, stage="execution", error_context=f"E{i}" if i else None
        )
    store.save_results(ctx, RESULTS)
    figures = store.save_figures(ctx, [PNG, PNG])
    store.create_final_notebook(ctx, CODE, results=RESULTS, figure_paths=figures)
    store.finish_execution(ctx, success=True)


def seed_notebook(header: str, *codes: str) -> nbformat.NotebookNode:
    """A notebook built the original way: nbformat.v4.new_* for every cell."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(header)] + [
        nbformat.v4.new_code_cell(c) for c in codes
    ]
    return nb


def seed_local(base: Path) -> None:
    """The original services' local writes, step for step."""
    now = datetime.now()
    month = base / "executed_scripts" / now.strftime("%Y-%m")
    month.mkdir(parents=True, exist_ok=True)
    folder = month / f"execution_{now:%Y%m%d_%H%M%S}_bench_{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True, exist_ok=True)
    attempts = folder / "attempts"
    attempts.mkdir(exist_ok=True)
    os.chmod(folder, 0o777)
    os.chmod(attempts, 0o777)
    os.chmod(folder, folder.stat().st_mode | 0o2000)
    with open(folder / "context.json", "w") as f:
        json.dump({"task": "bench", "n": 3}, f, indent=2)
    for i in range(3):
        header = f"# Python Executor - Attempt #{i + 1}\n\n**Stage:** execution\n"
        nb = seed_notebook(header, "context = load_context('../context.json')", CODE)
        with open(attempts / f"{i + 1:02d}_execution_{now:%H%M%S}.ipynb", "w") as f:
            nbformat.write(nb, f)
    with open(folder / "results.json", "w") as f:
        json.dump(json.loads(json.dumps(RESULTS, default=str)), f, indent=2)
    (folder / "figures").mkdir(exist_ok=True)
    paths = []
    for i in range(2):
        paths.append(folder / "figures" / f"figure_{i + 1:02d}.png")
        paths[-1].write_bytes(PNG)
    header = "# Python Executor - Successful Execution\n\nExecution completed successfully.\n\n"
    nb = seed_notebook(header, "context = load_context('context.json')", CODE, "print(results)")
    nb.cells.append(nbformat.v4.new_markdown_cell("## Execution Results"))
    figures = "".join(
        f"### Figure {i}\n![Figure {i}]({p.name})\n\n" for i, p in enumerate(paths, 1)
    )
    nb.cells.append(nbformat.v4.new_markdown_cell("## Generated Figures\n\n" + figures))
    with open(folder / "notebook.ipynb", "w") as f:
        nbformat.write(nb, f)


def generic_fsspec(root: ps.ArtifactStore) -> None:
    """The same objects through fsspec's file API: mkdir, then write_bytes per object."""

    now = datetime.now()
    base = root.root
    folder = (
        base
        / "executed_scripts"
        / f"{now:%Y-%m}"
        / f"execution_{now:%Y%m%d_%H%M%S}_bench_{uuid.uuid4().hex[:8]}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "execution_metadata.json").write_bytes(b'{"status": "running"}')
    (folder / "context.json").write_text(json.dumps({"task": "bench", "n": 3}))
    for i in range(3):
        nb = notebooks.attempt_notebook(i + 1, "execution", CODE)
        (folder / "attempts" / f"{i + 1:02d}_execution.ipynb").write_bytes(notebooks.to_bytes(nb))
    (folder / "results.json").write_text(json.dumps(RESULTS, indent=2))
    for i in range(2):
        (folder / "figures" / f"figure_{i + 1:02d}.png").write_bytes(PNG)
    nb = notebooks.final_notebook(CODE, results=RESULTS)
    (folder / "notebook.ipynb").write_bytes(notebooks.to_bytes(nb))
    (folder / "execution_metadata.json").write_bytes(b'{"status": "success"}')


def timed(fn: Callable[[], None]) -> float:
    started = time.perf_counter()
    for _ in range(EXECUTIONS):
        fn()
    return (time.perf_counter() - started) / EXECUTIONS


def peak(fn: Callable[[], None]) -> int:
    tracemalloc.start()
    fn()
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top


def compare(
    title: str, contenders: dict[str, Callable[[], None]], requests: Callable[[], int] | None
) -> list[str]:
    for fn in contenders.values():  # warm up imports and caches
        fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(ROUNDS):
        for name, fn in contenders.items():
            times[name].append(timed(fn))
    lines = [
        f"### {title}",
        "",
        "| writer | ms per execution (median) | ratio | requests per execution "
        "| peak traced memory |",
        "|---|---:|---:|---:|---:|",
    ]
    first = statistics.median(next(iter(times.values())))
    for name, fn in contenders.items():
        med = statistics.median(times[name])
        count = "n/a"
        if requests is not None:
            requests()
            fn()
            count = str(requests())
        memory = f"{peak(fn) / 1024:.0f} KiB"
        lines.append(f"| {name} | {med * 1000:.2f} | {med / first:.2f}x | {count} | {memory} |")
    return [*lines, ""]


def main() -> None:
    out: list[str] = [
        f"Rounds: {ROUNDS} alternating, {EXECUTIONS} executions each; "
        f"machine: {os.cpu_count()} cores.",
        "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        store = ps.open_store(Path(tmp) / "ours")
        out += compare(
            "Local disk",
            {
                "pyexec_store (atomic writes)": lambda: ours(store),
                "original services": lambda: seed_local(Path(tmp) / "seed"),
            },
            None,
        )
    memory = ps.open_store(f"memory://bench-{uuid.uuid4().hex[:6]}")
    out += compare("Memory", {"pyexec_store": lambda: ours(memory)}, None)

    server = RecordingMotoServer()
    server.start()
    try:
        import boto3

        boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1").create_bucket(
            Bucket="bench"
        )
        opts = {"endpoint_url": server.endpoint_url, "key": "bench", "secret": "bench-secret"}
        s3_store = ps.open_store("s3://bench/ours", **opts)
        generic = ps.open_store("s3://bench/generic", **opts)

        def count() -> int:
            return len(server.take_requests())

        out += compare(
            "S3 (moto server on 127.0.0.1)",
            {
                "pyexec_store": lambda: ours(s3_store),
                "fsspec file API (UPath)": lambda: generic_fsspec(generic),
            },
            count,
        )
    finally:
        server.stop()
    print("\n".join(out))


if __name__ == "__main__":
    main()
