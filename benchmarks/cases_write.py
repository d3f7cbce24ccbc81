"""Cases that write executions: the whole execution against its floors, durability, concurrency."""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import floors
import seed_baseline
from servers import BUCKET, S3Server
from timing import cpu_per_call, cpu_seconds, interleaved, summary, traced_peak

import pyexec_store as ps
from pyexec_store.bench import RequestCounter, Run, Workload, WriteTally, payload, run_execution
from pyexec_store.bench.parallel import run_writers
from pyexec_store.bench.requests import request_counter


@dataclass
class Settings:
    """Sizes of a run: the full one for the docs, or the quick one that checks it still works."""

    quick: bool
    tmp: Path
    servers: dict[str, S3Server]

    def rounds(self, full: int) -> int:
        """``full`` rounds, or one in a quick run."""
        return 1 if self.quick else full


@dataclass
class Contender:
    store: str
    writer: str
    run: Callable[[], Any]
    kind: str = "ours"
    """``ours``, ``floor``, ``step`` (a replay between the two) or ``original``."""
    requests: Callable[[], dict[str, int]] | None = None

    @property
    def name(self) -> str:
        return f"{self.store}: {self.writer}"


def _ours(store: ps.ArtifactStore, data: Any) -> Callable[[], Any]:
    tally = WriteTally(store.backend)
    return lambda: run_execution(store, data, tally)


def _fresh(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


def execution_case(s: Settings) -> dict[str, Any]:
    """A whole execution on every store, against the floors, side by side."""
    workload = Workload()
    data = payload(workload)
    objects = floors.record_objects(data)
    tmp = s.tmp / _fresh("execution")
    for sub in ("bare", "bare-sync", "seed"):
        (tmp / sub).mkdir(parents=True)
    replay_local = ps.open_store(tmp / "replay", durable=False).backend
    contenders = [
        Contender("memory", "pyexec_store", _ours(ps.open_store(f"memory://{_fresh('b')}"), data)),
        Contender(
            "local disk",
            "pyexec_store, durable=False",
            _ours(ps.open_store(tmp / "ours-nosync", durable=False), data),
        ),
        Contender(
            "local disk",
            "backend writes only, durable=False",
            lambda: floors.replay(replay_local, objects),
            "step",
        ),
        Contender(
            "local disk",
            "bare open/write/close",
            lambda: floors.bare_local(str(tmp / "bare"), objects),
            "floor",
        ),
        Contender("local disk", "pyexec_store (default)", _ours(ps.open_store(tmp / "ours"), data)),
        Contender(
            "local disk",
            "bare writes, then fsync each file and folder",
            lambda: floors.bare_local(str(tmp / "bare-sync"), objects, sync=True),
            "floor",
        ),
        Contender(
            "local disk",
            "original module's approach",
            lambda: seed_baseline.record_execution(
                tmp / "seed", data.code, data.context, data.results, data.figures, data.attempts
            ),
            "original",
        ),
    ]
    put_floors = []
    for name, server in s.servers.items():
        store = ps.open_store(server.url(_fresh("ours")), **server.options())
        counter = request_counter(store.backend)
        replay_store = ps.open_store(server.url(_fresh("replay")), **server.options())
        replay_counter = request_counter(replay_store.backend)
        assert counter is not None and replay_counter is not None
        client = server.client(max_pool_connections=16)
        boto_counter = RequestCounter()
        client.meta.events.register("before-send.s3", boto_counter)
        put = floors.PutFloor(client, BUCKET, _fresh("floor"))
        put_floors.append(put)
        contenders += [
            Contender(name, "pyexec_store", _ours(store, data), requests=counter.counts),
            Contender(
                name,
                "backend writes only",
                lambda b=replay_store.backend: floors.replay(b, objects),
                "step",
                replay_counter.counts,
            ),
            Contender(
                name,
                "put_object with If-None-Match on claims, one after the other",
                lambda put=put: put.sequential(objects, conditional=True),
                "step",
                boto_counter.counts,
            ),
            Contender(
                name,
                "put_object, one after the other",
                lambda put=put: put.sequential(objects),
                "floor",
                boto_counter.counts,
            ),
            Contender(
                name,
                "put_object, all at once",
                lambda put=put: put.parallel(objects),
                "floor",
                boto_counter.counts,
            ),
        ]
    # Many short rounds: the disk's and the servers' state drifts slowly, so
    # contenders taking turns every few calls see the same conditions.
    calls = {c.name: 1 if c.store in s.servers else 2 for c in contenders}
    try:
        times = interleaved({c.name: c.run for c in contenders}, s.rounds(60), calls)
        rows = []
        for c in contenders:
            row: dict[str, Any] = {"store": c.store, "writer": c.writer, "kind": c.kind}
            row.update(summary(times[c.name]))
            if c.requests is not None:
                before = c.requests()
                c.run()
                after = c.requests()
                sent = {k: v - before.get(k, 0) for k, v in after.items()}
                row["requests"] = {k: v for k, v in sent.items() if v}
            row["peak_kib"] = round(traced_peak(c.run) / 1024, 1)
            row["cpu_ms"] = round(cpu_per_call(c.run, 2 if s.quick else calls[c.name] * 10), 3)
            rows.append(row)
    finally:
        for put in put_floors:
            put.close()
    return {
        "workload": workload.to_json(),
        "objects": len(objects),
        "claims": sum(o.exclusive for o in objects),
        "bytes": sum(len(o.data) for o in objects),
        "rows": rows,
    }


FLOOR = "bare writes, then fsync each file and folder"


def durable_case(s: Settings) -> dict[str, Any]:
    """Local disk with each ``durable`` setting (the whole execution and its finish),
    beside the floor of the default: the same bytes written bare, then synced."""
    data = payload(Workload())
    objects = floors.record_objects(data)
    tmp = s.tmp / _fresh("durable")
    (tmp / "bare").mkdir(parents=True)
    stores = {
        "durable=None (default)": ps.open_store(tmp / "none"),
        "durable=False": ps.open_store(tmp / "false", durable=False),
        "durable=True": ps.open_store(tmp / "true", durable=True),
    }
    samples: dict[str, list[Any]] = {name: [] for name in stores}
    tallies = {name: WriteTally(store.backend) for name, store in stores.items()}

    def contender(name: str) -> Callable[[], None]:
        return lambda: samples[name].append(run_execution(stores[name], data, tallies[name]))

    contenders = {n: contender(n) for n in stores}
    contenders[FLOOR] = lambda: floors.bare_local(str(tmp / "bare"), objects, sync=True)
    times = interleaved(contenders, s.rounds(40), 2)
    rows = []
    for name, found in samples.items():
        found = found[1:]  # the warm-up
        finish = [x.operations["finish_execution"][0] for x in found]
        rows.append(
            {
                "setting": name,
                "execution": summary([x.seconds for x in found]),
                "finish": summary(finish),
                "rest": summary([x.seconds - f for x, f in zip(found, finish, strict=True)]),
            }
        )
    rows.append({"setting": FLOOR, "execution": summary(times[FLOOR])})
    return {"rows": rows}


def concurrency_case(s: Settings) -> dict[str, Any]:
    """1 to 16 writer processes on one store: executions per second and latency.

    Every number of writers runs once per round, the rounds taking turns, so a
    machine whose load drifts treats them alike; throughput is the median of
    the rounds, latency percentiles pool every execution.
    """
    levels = (1, 2) if s.quick else (1, 2, 4, 8, 16)
    total = 6 if s.quick else 120
    rounds = s.rounds(3)
    tmp = s.tmp / _fresh("concurrency")
    targets: list[tuple[str, str, dict[str, Any], int | None]] = [
        ("local disk", str(tmp / "local"), {}, None)
    ]
    if "SeaweedFS" in s.servers:
        weed = s.servers["SeaweedFS"]
        process = getattr(getattr(weed, "server", None), "process", None)
        targets.append(
            ("SeaweedFS", weed.url(_fresh("concurrency")), weed.options(), process and process.pid)
        )
    stores = []
    for name, url, options, server_pid in targets:
        runs: dict[int, list[Run]] = {n: [] for n in levels}
        cpu: dict[int, float] = dict.fromkeys(levels, 0.0)
        for _ in range(rounds):
            for workers in levels:
                cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
                runs[workers].append(run_writers(url, options, Workload(executions=total), workers))
                if server_pid:
                    cpu[workers] += cpu_seconds(server_pid) - cpu0  # warm-ups included
        entries = []
        for workers in levels:
            done = runs[workers]
            pooled = Run(
                workers,
                "processes",
                sum(r.seconds for r in done),
                [sample for r in done for sample in r.samples],
            )
            entry = pooled.to_json()
            rates = [r.executions_per_second for r in done]
            entry["executions_per_second"] = round(statistics.median(rates), 3)
            entry["rounds"] = [round(x, 3) for x in rates]
            if server_pid:
                measured = sum(r.executions + workers for r in done)
                entry["server_cpu_ms_per_execution"] = round(cpu[workers] * 1000 / measured, 2)
            entries.append(entry)
        stores.append({"store": name, "runs": entries})
    return {"executions": total, "rounds": rounds, "levels": list(levels), "stores": stores}
