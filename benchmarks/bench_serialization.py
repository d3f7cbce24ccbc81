"""Benchmark: pyexec_store's results writer against the original approach.

Run from the repository root::

    .venv/bin/python benchmarks/bench_serialization.py [--rounds 5] [--small-ops 300]

Cases
-----
large
    A ~30 MB numpy-heavy result (1M-float vector, 500x200 matrix, 20k x 5
    DataFrame, 10k nested records) written to a local file with indent=2:
    ``serialize_results_to_file`` against the baseline in ``seed_baseline.py``
    (a stdlib round trip, then ``json.dump(indent=2)``).
small
    A typical ~10-key result: ``serialize_results_to_file`` against writing the
    very same bytes with a bare ``open``/``write``/``close``, both to an
    existing file (a re-save) and to a new file (a new execution).
big float document
    A 50 MB float64 array, about 154 MB of JSON: ``decode_results`` against
    ``orjson.loads`` (alternating, median), and the peak traced memory of
    ``encode_results`` against ``orjson.dumps`` alone.
hostile
    Results built to take unbounded time or memory: an integer of a million
    digits written and read, 5 million ``[`` read, and a list holding itself
    twice (``a = [a, a]``) 22, 30 and 60 levels deep written. Each runs once in
    a fresh interpreter: the time without tracing, then the peak traced memory
    (``tracemalloc``) in a second run.

Timings alternate between the contenders in one run and report the median.
Peak memory is measured in a fresh subprocess per measurement: the child
builds the data, resets the kernel's peak-RSS mark (``/proc/self/clear_refs``),
runs the operation once, and reports ``VmHWM`` minus the RSS before it, i.e.
the extra resident memory the operation needed at its peak.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import seed_baseline  # noqa: E402

from pyexec_store.resultfiles import serialize_results_to_file  # noqa: E402
from pyexec_store.results import decode_results, encode_results  # noqa: E402


def make_large() -> dict[str, Any]:
    """The ~30 MB numpy-heavy result."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(42)
    return {
        "vector": rng.standard_normal(1_000_000),
        "matrix": rng.standard_normal((500, 200)),
        "frame": pd.DataFrame(rng.standard_normal((20_000, 5)), columns=list("abcde")),
        "records": [
            {
                "id": i,
                "name": f"sample-{i}",
                "score": i * 0.25,
                "ok": i % 3 != 0,
                "tags": ["raw", "calibrated"],
                "stats": {"min": -float(i), "max": float(i), "n": i % 17},
            }
            for i in range(10_000)
        ],
        "summary": {"rows": 20_000, "created": dt.datetime(2024, 5, 1, 12, 30)},
    }


def make_small() -> dict[str, Any]:
    """A typical small result of about ten keys."""
    return {
        "status": "ok",
        "n_points": 1440,
        "mean": 21.37,
        "std": 0.82,
        "min": 19.5,
        "max": 23.25,
        "values": [20.5, 21.0, 21.25, 22.0, 21.75],
        "units": "degC",
        "created": dt.datetime(2024, 5, 1, 12, 30),
        "config": {"window": 15, "method": "rolling_mean", "outliers_removed": 3},
    }


# ---------------------------------------------------------------------------
# memory: one subprocess per measurement
# ---------------------------------------------------------------------------


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _child(case: str, method: str, path: str) -> None:
    data = make_large() if case == "large" else make_small()
    fn = _operations(data, path)[method]
    fn()  # warm imports and caches, as in the timed runs
    import gc

    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        how = "VmHWM after clear_refs"
    except OSError:
        how = "ru_maxrss delta"
    before = _status_kb("VmRSS")
    fn()
    peak = _status_kb("VmHWM")
    print(json.dumps({"peak_kb": max(peak - before, 0), "how": how}))


def measure_peak(case: str, method: str, path: str) -> tuple[float, str]:
    """Extra peak RSS (MB) of one run of ``method``, in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", case, method, path],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    info = json.loads(out.strip().splitlines()[-1])
    return info["peak_kb"] / 1024, info["how"]


# ---------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------


def _operations(data: Any, path: str) -> dict[str, Callable[[], None]]:
    encoded = encode_results(data).data
    counter = [0]

    def fresh() -> str:
        counter[0] += 1
        return f"{path}.{counter[0]}"

    def ours() -> None:
        meta = serialize_results_to_file(data, path)
        assert meta["success"], meta

    def ours_new() -> None:
        meta = serialize_results_to_file(data, fresh())
        assert meta["success"], meta

    def baseline() -> None:
        meta = seed_baseline.serialize_results_to_file(data, path)
        assert meta["success"], meta

    def baseline_new() -> None:
        meta = seed_baseline.serialize_results_to_file(data, fresh())
        assert meta["success"], meta

    def encode() -> None:
        encode_results(data)

    def bare() -> None:
        with open(path, "wb") as f:
            f.write(encoded)

    def bare_new() -> None:
        with open(fresh(), "wb") as f:
            f.write(encoded)

    return {
        "ours": ours,
        "ours_new": ours_new,
        "seed": baseline,
        "seed_new": baseline_new,
        "encode": encode,
        "bare": bare,
        "bare_new": bare_new,
    }


def interleaved(fns: dict[str, Callable[[], None]], rounds: int, repeat: int) -> dict[str, float]:
    """Median seconds per call of each function, alternating between them."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for name in fns:
        fns[name]()  # warm up
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(repeat):
                t0 = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(values) for name, values in samples.items()}


SEED = "seed baseline: convert + json.dump"
ENCODE = "encode_results only (no I/O)"


def _row(
    case: str, method: str, seconds: float, mb: float, memory: str, ratio: str, digits: int = 0
) -> tuple[str, ...]:
    """One table row: the time, and the throughput it gives for ``mb`` megabytes."""
    return (case, method, _fmt_time(seconds), f"{mb / seconds:.{digits}f}", memory, ratio)


def _fmt_time(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} µs"


# ---------------------------------------------------------------------------
# big float document and hostile inputs
# ---------------------------------------------------------------------------


def _shared(levels: int) -> list[Any]:
    a: list[Any] = [1]
    for _ in range(levels):
        a = [a, a]
    return a


def _hostile_cases() -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """name: (make the input, run on it); the input is made before the clock starts."""

    def refused(fn: Callable[[], Any]) -> str:
        try:
            fn()
        except ValueError as e:
            return f"ValueError: {str(e)[:60]}"
        return "read"

    def written(value: Any) -> str:
        enc = encode_results(value)
        return f"{len(enc.data) / 1e6:.1f} MB, {enc.warnings[0][:60] if enc.warnings else ''}"

    return {
        "int of 10**6 digits, write": (lambda: {"x": 10 ** (10**6)}, written),
        "int of 10**6 digits, read": (
            lambda: b"1" * 10**6,
            lambda doc: refused(lambda: decode_results(doc)),
        ),
        "5 million [, read": (
            lambda: b"[" * 5_000_000,
            lambda doc: refused(lambda: decode_results(doc)),
        ),
        "a = [a, a] x 22, write": (lambda: _shared(22), written),
        "a = [a, a] x 30, write": (lambda: _shared(30), written),
        "a = [a, a] x 60, write": (lambda: _shared(60), written),
    }


def _hostile_child(name: str) -> None:
    import gc
    import tracemalloc

    make, run = _hostile_cases()[name]
    value = make()
    start = time.perf_counter()
    outcome = run(value)
    seconds = time.perf_counter() - start
    gc.collect()
    tracemalloc.start()
    run(value)
    peak = tracemalloc.get_traced_memory()[1]
    print(json.dumps({"seconds": seconds, "peak": peak, "outcome": outcome}))


def hostile_rows() -> list[tuple[str, ...]]:
    rows = []
    for name in _hostile_cases():
        out = subprocess.run(
            [sys.executable, __file__, "--hostile", name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        info = json.loads(out.strip().splitlines()[-1])
        peak = f"{info['peak'] / 1e6:.1f} MB"
        rows.append((name, _fmt_time(info["seconds"]), peak, info["outcome"]))
    return rows


def big_document_rows(rounds: int) -> tuple[float, list[tuple[str, ...]]]:
    import gc
    import tracemalloc

    import numpy as np
    import orjson

    arr = np.random.default_rng(7).standard_normal(50_000_000 // 8)
    data = encode_results({"a": arr}).data
    times: dict[str, list[float]] = {"orjson.loads": [], "decode_results": []}
    for _ in range(rounds):
        for name, fn in (("orjson.loads", orjson.loads), ("decode_results", decode_results)):
            gc.collect()
            start = time.perf_counter()
            fn(data)
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(values) for name, values in times.items()}
    rows = [
        (
            "read",
            name,
            _fmt_time(median[name]),
            "-",
            f"{median[name] / median['orjson.loads']:.2f}x",
        )
        for name in times
    ]
    option = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_INDENT_2
    for name, fn in (
        ("orjson.dumps alone", lambda: orjson.dumps({"a": arr}, option=option)),
        ("encode_results", lambda: encode_results({"a": arr})),
    ):
        gc.collect()
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
        gc.collect()
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        ratio = f"peak {peak / len(data):.2f}x the document"
        rows.append(("write", name, _fmt_time(seconds), f"{peak / 1e6:.0f} MB", ratio))
    return len(data), rows


def _print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small-ops", type=int, default=300, help="small writes per round")
    parser.add_argument("--only", choices=["writes", "big", "hostile"], help="one table only")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--hostile", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    if args.hostile:
        _hostile_child(args.hostile)
        return
    if args.only in (None, "writes"):
        writes(args.rounds, args.small_ops)
    if args.only in (None, "big"):
        size, rows = big_document_rows(args.rounds)
        print()
        print(f"big float document: {size / 1e6:.1f} MB (a 50 MB float64 array, indent=2)")
        print()
        _print_table(("case", "method", "time (median)", "peak traced", "ratio"), rows)
    if args.only in (None, "hostile"):
        print()
        print("hostile inputs: one run each in a fresh interpreter; peak traced in a second run")
        print()
        _print_table(("input", "time", "peak traced", "outcome"), hostile_rows())


def writes(rounds: int, small_ops: int) -> None:
    """The large and small write cases: the first table."""

    with tempfile.TemporaryDirectory(prefix="pyexec-bench-") as tmp:
        rows: list[tuple[str, ...]] = []

        # large, indent=2
        large = make_large()
        path = os.path.join(tmp, "large", "results.json")
        os.makedirs(os.path.dirname(path))
        ops = _operations(large, path)
        size = len(encode_results(large).data)
        t = interleaved(
            {k: ops[k] for k in ("ours", "seed", "ours_new", "seed_new", "encode")}, rounds, 1
        )
        del large, ops
        mem = {m: measure_peak("large", m, path) for m in ("ours", "seed", "encode")}
        how = mem["ours"][1]
        mb = size / 1e6
        # A new execution writes a new results.json; re-saving replaces one, which on
        # ext4 also pays for freeing the old file's blocks (both contenders do).
        for label, seed, ours in (
            ("large, new file", "seed_new", "ours_new"),
            ("large, re-save", "seed", "ours"),
        ):
            seed_mem, ours_mem = f"{mem['seed'][0]:.0f} MB", f"{mem['ours'][0]:.0f} MB"
            rows.append(_row(label, SEED, t[seed], mb, seed_mem, "1.00x"))
            ratio = f"{t[seed] / t[ours]:.1f}x faster"
            rows.append(_row(label, "serialize_results_to_file", t[ours], mb, ours_mem, ratio))
        ratio = f"{t['seed_new'] / t['encode']:.1f}x faster"
        encode_mem = f"{mem['encode'][0]:.0f} MB"
        rows.append(_row("large", ENCODE, t["encode"], mb, encode_mem, ratio))

        # small
        small = make_small()
        spath = os.path.join(tmp, "small", "results.json")
        os.makedirs(os.path.dirname(spath))
        sops = _operations(small, spath)
        ssize = len(encode_results(small).data)
        st = interleaved(
            {k: sops[k] for k in ("bare", "ours", "bare_new", "ours_new", "seed", "encode")},
            rounds,
            small_ops,
        )
        smb = ssize / 1e6
        for label, b, o in (
            ("small, re-save", "bare", "ours"),
            ("small, new file", "bare_new", "ours_new"),
        ):
            rows.append(_row(label, "bare open/write/close", st[b], smb, "-", "1.00x", 1))
            ratio = f"{st[o] / st[b]:.2f}x the bare write"
            rows.append(_row(label, "serialize_results_to_file", st[o], smb, "-", ratio, 1))
        ratio = f"{st['seed'] / st['bare']:.2f}x the bare write"
        rows.append(_row("small, re-save", "seed baseline", st["seed"], smb, "-", ratio, 1))
        rows.append(_row("small", ENCODE, st["encode"], smb, "-", "-", 1))

    print(f"large document: {size / 1e6:.1f} MB; small document: {ssize} bytes")
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, rounds={rounds}, "
        f"peak memory = extra RSS at peak, one subprocess per measurement ({how})"
    )
    print()
    _print_table(("case", "method", "time (median)", "MB/s", "peak memory", "ratio"), rows)


if __name__ == "__main__":
    main()
