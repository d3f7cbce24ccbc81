"""Cases that read: listing many executions, and results documents from 1 KB to 150 MB."""

from __future__ import annotations

import gc
import statistics
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from cases_write import Settings
from timing import interleaved, summary, traced_peak

import pyexec_store as ps
from pyexec_store import layout
from pyexec_store.backends import WriteItem
from pyexec_store.bench.requests import request_counter
from pyexec_store.writing import JSON, dumps, new_metadata

MONTHS = 12
YEAR = 2025


def metadata_items(start: int, stop: int, months: int = MONTHS) -> list[WriteItem]:
    """The metadata files of executions ``start`` to ``stop``, spread over ``months`` months."""
    items = []
    for i in range(start, stop):
        month = i % months + 1
        day = (i // months) % 28 + 1
        second = i // (months * 28)
        when = datetime(YEAR, month, day, second // 3600 % 24, second // 60 % 60, second % 60)
        ex = layout.new_execution("listing", now=when.astimezone())
        meta = new_metadata(ex, "listing")
        meta.update(status="success", finished_at=when.astimezone().isoformat(), attempts=3)
        items.append(WriteItem(f"{ex.folder}/{layout.METADATA_FILE}", dumps(meta), True, JSON))
    return items


def _fill(store: ps.ArtifactStore, items: list[WriteItem]) -> None:
    for chunk in range(0, len(items), 1000):
        outcomes = store.backend.write_many(items[chunk : chunk + 1000])
        failed = [o for o in outcomes if o is not None]
        if failed:
            raise failed[0]


def listing_case(s: Settings) -> dict[str, Any]:
    """``list_executions`` over 100 to 10 000 executions in 12 month folders."""
    sizes = (24, 120) if s.quick else (100, 1_000, 10_000)
    runs = s.rounds(3)
    targets: list[tuple[str, str, dict[str, Any]]] = [
        ("local disk", str(s.tmp / f"listing-{uuid.uuid4().hex[:6]}"), {})
    ]
    if "SeaweedFS" in s.servers:
        weed = s.servers["SeaweedFS"]
        targets.append(("SeaweedFS", weed.url(f"listing-{uuid.uuid4().hex[:6]}"), weed.options()))
    stores = []
    for name, url, options in targets:
        store = ps.open_store(url, **options)
        counter = request_counter(store.backend)
        rows = []
        have = 0
        for size in sizes:
            _fill(store, metadata_items(have, size))
            have = size
            times = []
            requests: dict[str, int] = {}
            for _ in range(runs):
                before = counter.counts() if counter else {}
                started = time.perf_counter()
                found = store.list_executions()
                times.append(time.perf_counter() - started)
                after = counter.counts() if counter else {}
                requests = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k)}
                assert len(found) == size, (len(found), size)
            rows.append(
                {
                    "executions": size,
                    "months": min(size, MONTHS),
                    "median_ms": round(statistics.median(times) * 1000, 2),
                    "requests": requests or None,
                }
            )
        stores.append({"store": name, "rows": rows})
    if not s.quick and "SeaweedFS" in s.servers:
        # Pages: one month folder holding 3 000 executions takes 3 pages of 1 000.
        weed = s.servers["SeaweedFS"]
        store = ps.open_store(weed.url(f"pages-{uuid.uuid4().hex[:6]}"), **weed.options())
        counter = request_counter(store.backend)
        assert counter is not None
        _fill(store, metadata_items(0, 3000, months=1))
        before = counter.counts()
        started = time.perf_counter()
        found = store.list_executions()
        seconds = time.perf_counter() - started
        after = counter.counts()
        assert len(found) == 3000
        stores.append(
            {
                "store": "SeaweedFS, one month",
                "rows": [
                    {
                        "executions": 3000,
                        "months": 1,
                        "median_ms": round(seconds * 1000, 2),
                        "requests": {
                            k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k)
                        },
                    }
                ],
            }
        )
    return {"sizes": list(sizes), "stores": stores}


def results_document(size: int) -> dict[str, Any]:
    """A numpy float array whose results.json (indent 2) is about ``size`` bytes."""
    import numpy as np

    rng = np.random.default_rng(3)
    sample = ps.encode_results({"values": rng.standard_normal(10_000)}).data
    count = max(1, round(size / (len(sample) / 10_000)))
    return {"values": rng.standard_normal(count)}


NUMPY_INDENT = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_INDENT_2


class NewFiles:
    """A new file for every write, the previous one removed outside the clock."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.name = name
        self.count = 0

    @property
    def path(self) -> Path:
        return self.folder / f"{self.name}-{self.count}.json"

    def next(self) -> None:
        self.path.unlink(missing_ok=True)
        self.count += 1

    def write(self, data: bytes) -> None:
        with open(self.path, "wb") as f:
            f.write(data)


def results_case(s: Settings) -> dict[str, Any]:
    """save_results and load_results against orjson alone and bare file I/O.

    Writes go to new files, as an execution's results do: ``save_results``
    into a new execution each time, the bare writes into new files (the
    previous one removed outside the clock).
    """
    sizes = (1_000, 1_000_000) if s.quick else (1_000, 1_000_000, 30_000_000, 150_000_000)
    folder = s.tmp / f"results-{uuid.uuid4().hex[:6]}"
    store = ps.open_store(folder / "store", durable=False)
    rows = []
    for size in sizes:
        # Large documents: few calls, so more rounds (memory bandwidth is shared too).
        rounds = s.rounds(7 if size > 100_000_000 else 15 if size > 10_000_000 else 9)
        rows.append(_results_row(store, folder, size, rounds))
        gc.collect()
    return {"rows": rows}


def _results_row(store: ps.ArtifactStore, folder: Path, size: int, rounds: int) -> dict[str, Any]:
    doc = results_document(size)
    data = ps.encode_results(doc).data
    ctx = store.create_execution("results")
    store.save_results(ctx, doc)
    assert (store.root / ctx.folder_key / "results.json").read_bytes() == data
    bare, floor = NewFiles(folder, "bare"), NewFiles(folder, "floor")
    bare.write(data)
    saving = [store.create_execution("results")]  # new ones for writes; ctx for reads

    def new_execution() -> None:
        store.delete_execution(saving[0])
        saving[0] = store.create_execution("results")

    def bare_read() -> bytes:
        with open(bare.path, "rb") as f:
            return f.read()

    contenders = {
        "save_results": lambda: store.save_results(saving[0], doc),
        "orjson.dumps": lambda: orjson.dumps(doc, option=NUMPY_INDENT),
        "bare write": lambda: bare.write(data),
        "orjson.dumps + bare write": lambda: floor.write(orjson.dumps(doc, option=NUMPY_INDENT)),
        "load_results": lambda: store.load_results(ctx),
        "decode_results": lambda: ps.decode_results(data),
        "orjson.loads": lambda: orjson.loads(data),
        "bare read": bare_read,
        "bare read + orjson.loads": lambda: orjson.loads(bare_read()),
    }
    prepare = {
        "save_results": new_execution,
        "bare write": bare.next,
        "orjson.dumps + bare write": floor.next,
    }
    calls = 1 if size >= 10_000_000 else max(1, min(300, 2_000_000 // size))
    gc.collect()
    times = interleaved(contenders, rounds, calls, prepare)
    row: dict[str, Any] = {"size": len(data), "calls": {k: summary(v) for k, v in times.items()}}
    if size >= 1_000_000:
        row["peak_bytes"] = {}
        for name in ("save_results", "orjson.dumps", "load_results", "orjson.loads"):
            if name in prepare:
                prepare[name]()
            row["peak_bytes"][name] = traced_peak(contenders[name])
    for path in (bare.path, floor.path):
        path.unlink(missing_ok=True)
    store.delete_execution(saving[0])
    store.delete_execution(ctx)
    return row
