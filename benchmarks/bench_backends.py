"""Benchmark: the backends against their floors, from one run, into docs/benchmarks.md.

Run from the repository root::

    .venv/bin/python benchmarks/bench_backends.py          # make bench: docs/ regenerated
    .venv/bin/python benchmarks/bench_backends.py --quick  # make bench-quick: small, once

Cases (every contender of a case measured side by side, in alternating rounds):

execution
    A whole execution on memory, local disk, moto's server and SeaweedFS,
    against the floors: the same bytes written bare locally, one boto3
    ``put_object`` per object on S3 (one after the other, and all at once),
    and the original module's approach on local disk.
durable
    Local disk with ``durable=None`` (the default), ``False`` and ``True``.
concurrency
    1 to 16 writer processes on local disk and SeaweedFS.
listing
    ``list_executions`` over 100 to 10 000 executions spread over 12 months.
results
    ``save_results`` and ``load_results`` from 1 KB to 150 MB, against
    ``orjson`` alone and bare file I/O, with traced peak memory.

The S3 servers are started here and stopped at the end; their logs go to a
folder under the temporary directory, named at the end. The full run writes
docs/benchmarks.md, docs/benchmarks.json and docs/img/bench-*.png; the quick
run writes the same files to a temporary folder (or ``--out``) and removes it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import servers  # noqa: E402
from cases_read import listing_case, results_case  # noqa: E402
from cases_write import Settings, concurrency_case, durable_case, execution_case  # noqa: E402
from machine import describe  # noqa: E402
from report import render, summaries  # noqa: E402

CASES: dict[str, Callable[[Settings], dict[str, Any]]] = {
    "execution": execution_case,
    "durable": durable_case,
    "concurrency": concurrency_case,
    "listing": listing_case,
    "results": results_case,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="each case once, at small size")
    parser.add_argument(
        "--out", type=Path, help="where to write (default: docs/, quick: a temp dir)"
    )
    parser.add_argument("--only", action="append", choices=list(CASES), help="run only these")
    parser.add_argument(
        "--render", type=Path, metavar="JSON", help="no run: rewrite the page from this JSON"
    )
    args = parser.parse_args(argv)
    if args.render:
        out = args.out or HERE.parent / "docs"
        write(out, json.loads(args.render.read_text()))
        print(f"wrote {out / 'benchmarks.md'} from {args.render}")
        return 0
    servers.environment()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="pyexec-bench-"))
    logs = Path(tempfile.mkdtemp(prefix="pyexec-bench-logs-"))
    out = args.out or (work / "out" if args.quick else HERE.parent / "docs")
    chosen = args.only or list(CASES)
    running: dict[str, servers.S3Server] = {}
    results: dict[str, Any] = {}
    try:
        for server in (servers.MotoServer(logs), servers.WeedServer(logs)):
            server.start()
            running[server.name] = server
        settings = Settings(args.quick, work, running)
        for name in chosen:
            case_started = time.monotonic()
            results[name] = CASES[name](settings)
            results[name]["seconds"] = round(time.monotonic() - case_started, 1)
            for line in summaries(name, results[name]):
                print(f"{name}: {line}", flush=True)
    finally:
        for server in running.values():
            server.stop()
    document = {
        "mode": "quick" if args.quick else "full",
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
        "machine": describe(str(work), servers.WeedServer.version()),
        "cases": results,
    }
    write(out, document)
    if args.quick and args.out is None:
        print(f"every case ran, in {document['seconds']:.0f} s (quick: output discarded)")
        shutil.rmtree(logs, ignore_errors=True)
    else:
        print(
            f"wrote {out / 'benchmarks.md'} in {document['seconds']:.0f} s; server logs in {logs}"
        )
    shutil.rmtree(work, ignore_errors=True)
    return 0


#: Below this line benchmarks.md holds sections written by hand (other benchmarks): kept.
MARKER = "<!-- End of the part `make bench` generates; what follows is kept as it is. -->"


def write(out: Path, document: dict[str, Any]) -> None:
    """benchmarks.json, the charts and benchmarks.md under ``out`` (keeping the
    hand-written part of an existing benchmarks.md, after :data:`MARKER`)."""
    from charts import draw

    (out / "img").mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.json").write_text(json.dumps(document, indent=1) + "\n")
    images = draw(document["cases"], out / "img")
    page = out / "benchmarks.md"
    kept = ""
    if page.exists() and MARKER in (text := page.read_text()):
        kept = text.split(MARKER, 1)[1]
    page.write_text(render(document, images).rstrip("\n") + "\n\n" + MARKER + kept)


if __name__ == "__main__":
    sys.exit(main())
