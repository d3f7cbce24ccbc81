"""The paragraph under each chart of docs/benchmarks.md: what it shows, the ratios, the gaps.

Written from the run's own numbers; the explanations are what was measured
while building these benchmarks (each names the contender that shows it).
"""

from __future__ import annotations

from typing import Any

from figures import ms, ratio, row, saturation


def _f(value: float | None, unit: str = " ms") -> str:
    if value is None:
        return "?"
    if unit == " ms" and value >= 1000:
        return f"{value / 1000:.3g} s"
    return f"{value:.3g}{unit}"


def _x(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}x"


def _delta(a: float | None, b: float | None) -> str:
    """``a - b`` as "+x ms", or "nothing measurable" when it is not positive."""
    if a is None or b is None:
        return "?"
    return f"+{a - b:.2g} ms" if a > b else "nothing measurable (within the noise)"


def _size(size: float) -> str:
    return f"{size / 1e3:.3g} KB" if size < 500_000 else f"{size / 1e6:.3g} MB"


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


def _verdict(ok: bool | None, target: str) -> str:
    if ok is None:
        return ""
    return f" [target {target}: **{'met' if ok else 'missed'}**]"


def execution(case: dict[str, Any]) -> str:
    mem = ms(case, "memory", "pyexec_store")
    local = ms(case, "local disk", "pyexec_store, durable=False")
    replay = ms(case, "local disk", "backend writes only, durable=False")
    bare = ms(case, "local disk", "bare open/write/close")
    default = ms(case, "local disk", "pyexec_store (default)")
    bare_sync = ms(case, "local disk", "bare writes, then fsync each file and folder")
    seed = ms(case, "local disk", "original module's approach")
    mem_x = ratio(local, mem)
    text = [
        "Each bar is the median of a whole execution (log scale): pyexec_store in dark "
        "blue, its backend alone writing the very same objects in light blue, the floors "
        f"in grey, the original module in red. **Memory**: {_f(mem)}, {_x(mem_x)} faster "
        f"than local disk without sync ({_f(local)})"
        + _verdict(mem_x >= 3 if mem_x else None, "3x")
        + "; what is left on memory is building the content (notebooks, metadata, "
        "results JSON, presigned or file links) and the 11 `UPath` objects an execution "
        "returns to its caller (about 25 µs each: universal-pathlib's own cost). The "
        "memory backend writes into fsspec's dictionary directly: fsspec's own write "
        "path asks `exists` and `isfile` of the file and of each parent, and each of "
        "those scans every key in memory, so writes would slow down with everything "
        "stored (3 000 executions made one 25 times slower). **Local disk** without sync: "
        f"{_x(ratio(local, bare))} the bare writes ({_f(bare)})"
        + _verdict(ratio(local, bare) <= 1.5 if ratio(local, bare) else None, "1.5x")
        + f"; the backend alone writes the same objects in {_f(replay)} "
        f"({_x(ratio(replay, bare))} bare: a temporary file, a rename or hard link, and "
        "folders opened one by one without following links, per file) and the rest, "
        "about the memory figure, is building the bytes, which the floor is handed "
        "ready-made. As shipped, the finish syncs the execution to disk: "
        f"{_f(default)}, {_x(ratio(default, bare_sync))} bare writes followed by the same "
        f"fsyncs ({_f(bare_sync)}); fsync dominates and, on this shared virtual disk, "
        "costs from 2 to 60 ms depending on what else is writing, so these two ratios "
        "move from run to run. The original approach takes "
        f"{_f(seed)}: {_x(ratio(seed, local))} pyexec_store without sync (`nbformat.write` "
        "validates every notebook against its JSON schema; JSON goes through the "
        "standard library twice); it never syncs, so against the shipped default it "
        f"is {_x(ratio(seed, default))}.",
    ]
    for server in ("SeaweedFS", "moto"):
        ours = row(case, server, "pyexec_store")
        seq = ms(case, server, "put_object, one after the other")
        if ours is None or seq is None:
            continue
        cond = ms(case, server, "put_object with If-None-Match on claims, one after the other")
        alone = ms(case, server, "backend writes only")
        at_once = ms(case, server, "put_object, all at once")
        floor_cpu = (row(case, server, "put_object, one after the other") or {}).get("cpu_ms")
        alone_cpu = (row(case, server, "backend writes only") or {}).get("cpu_ms")
        requests = ", ".join(f"{n} {op}" for op, n in sorted((ours.get("requests") or {}).items()))
        r = ratio(ours["median_ms"], seq)
        if server == "SeaweedFS":
            text.append(
                f"**SeaweedFS**: {_f(ours['median_ms'])} per execution, {_x(r)} one "
                f"`put_object` per object in sequence ({_f(seq)})"
                + _verdict(r <= 1.1 if r else None, "1.1x")
                + f", with {requests} for {case['objects']} objects and nothing else (no "
                "HEAD, LIST or folder marker). The gap splits along the light bars: "
                f"`If-None-Match: *` on the {case['claims']} claimed objects (the execution, "
                "its attempt notebooks and figures, never overwritten) costs the server "
                f"{_delta(cond, seq)} (boto3 sending the same requests: "
                f"{_f(cond)}); pyexec_store's client (aiobotocore on fsspec's event-loop "
                f"thread, one hop per call) {_delta(alone, cond)} "
                f"({_f(alone)}); the store's own work (building the content, a "
                "presigned link per attempt notebook at about 0.13 ms each in botocore, "
                f"the paths it returns) {_delta(ours['median_ms'], alone)}. That last step "
                f"is {_delta(ours.get('cpu_ms'), alone_cpu)} of the client's CPU: "
                f"pyexec_store spends {_f(ours.get('cpu_ms'))} of CPU per execution, its "
                f"backend alone {_f(alone_cpu)}, boto3 {_f(floor_cpu)}, on 2 cores "
                "shared with the server and other work, where a millisecond of CPU costs "
                "more than a millisecond of waiting. Sending "
                f"every object at once would take {_f(at_once)}: the server gains little "
                "from concurrent writes (see below), and an execution's writes depend on "
                "each other anyway (the claim comes first, the finish last)."
            )
        else:
            text.append(
                f"**moto** ({_f(ours['median_ms'])}, {_x(r)} its sequential floor, "
                f"{requests}): moto's server is Python, a few milliseconds per request, "
                "and its times swing more than the differences between the clients; the "
                "request counts are what carry over to a real store."
            )
    return " ".join(text)


def durable(case: dict[str, Any], execution_case: dict[str, Any] | None) -> str:
    rows = {r["setting"]: r for r in case["rows"]}
    none = rows.get("durable=None (default)")
    false = rows.get("durable=False")
    true = rows.get("durable=True")
    if not (none and false and true):
        return ""
    floor = rows.get("bare writes, then fsync each file and folder")
    bare_sync = floor["execution"]["median_ms"] if floor else None
    return (
        "Where the time of a local execution goes with each `durable` setting (medians; "
        "red: `finish_execution`). The default syncs every file and folder of the "
        f"execution once, at the finish: {_f(none['finish']['median_ms'])} of its "
        f"{_f(none['execution']['median_ms'])}. `durable=False` leaves write-back to the "
        f"operating system: {_f(false['execution']['median_ms'])} per execution (an "
        "execution may then be lost, never half-written, in a power cut). `durable=True` "
        "syncs every write, file then folder, before it returns: "
        f"{_f(true['execution']['median_ms'])}, "
        f"{_x(ratio(true['execution']['median_ms'], none['execution']['median_ms']))} "
        "the default. The floor of the default, the same bytes written bare and then "
        f"synced file by file and folder by folder, takes {_f(bare_sync)} here: the default "
        f"is {_x(ratio(none['execution']['median_ms'], bare_sync))} its floor. "
        "Every figure here is the disk's: this virtual disk, shared with other work, "
        "takes 2 to 60 ms for the same sync from one minute to the next."
    )


def concurrency(case: dict[str, Any]) -> str:
    parts = [
        f"{case['executions']} executions shared by 1 to {case['levels'][-1]} writer "
        "processes on one store, each process with a store of its own, started and warmed "
        "up before the clock starts; every number of writers ran once per round, "
        f"{case.get('rounds', 1)} rounds taking turns, and executions per second is the "
        "median of the rounds (all of them are in benchmarks.json)."
    ]
    for store in case["stores"]:
        runs = store["runs"]
        rates = " → ".join(f"{r['executions_per_second']:.0f}" for r in runs)
        levels = " → ".join(str(r["workers"]) for r in runs)
        sat = saturation(runs)
        best = max(runs, key=lambda r: r["executions_per_second"])
        last = runs[-1]
        if store["store"] == "local disk":
            two = runs[1]["executions_per_second"] / runs[0]["executions_per_second"]
            why = (
                "the syncs of concurrent writers share the filesystem's journal commits, "
                f"so two writers do {two:.1f}x the work of one"
                if two > 1.6
                else f"two writers do {two:.1f}x the work of one (the sync was cheap "
                "during this run, so one writer was already busy most of the time)"
            )
            parts.append(
                f"**Local disk** ({levels} writers: {rates} executions/s): each finish "
                f"waits for its sync; {why}; throughput peaks at {best['workers']} writers "
                f"({best['executions_per_second']:.0f}/s)"
                + f", 90% of it from {sat} writer{'s' if sat > 1 else ''}, where the 2 "
                "cores are busy running the writers; at "
                f"{last['workers']} the median execution takes "
                f"{_f(last['latency_ms']['p50'])} (p99 {_f(last['latency_ms']['p99'])})."
            )
        else:
            cpu = [r.get("server_cpu_ms_per_execution") or 0.0 for r in runs]
            cores = [c * r["executions_per_second"] / 1000 for c, r in zip(cpu, runs, strict=True)]
            first, two = runs[0], runs[1]
            parts.append(
                f"**{store['store']}** ({levels} writers: {rates} executions/s) is saturated "
                f"from {sat} writer{'s' if sat > 1 else ''} (90% of its peak): "
                f"{two['executions_per_second'] / first['executions_per_second']:.2f}x with "
                f"2 writers, at most {best['executions_per_second']:.0f} executions "
                f"({best['executions_per_second'] * 10:.0f} PUTs) per second, with "
                f"{best['workers']}. The median execution goes from "
                f"{_f(first['latency_ms']['p50'])} with one writer to "
                f"{_f(two['latency_ms']['p50'])} with 2 and "
                f"{_f(runs[2]['latency_ms']['p50'] if len(runs) > 2 else None)} with "
                f"{runs[2]['workers'] if len(runs) > 2 else '?'}: concurrent writes mostly "
                "wait for each other. The server's own CPU stays under "
                f"{max(cores):.2f} of a core ({min(cpu):.3g} to {max(cpu):.3g} ms per "
                "execution; `weed mini` runs master, volume server, filer and S3 gateway in "
                "one process), on 2 cores that also run the writers."
                + (
                    f" At {last['workers']} writers throughput falls to "
                    f"{last['executions_per_second']:.0f}/s: {last['workers']} client "
                    "processes compete with the server for those cores."
                    if last["executions_per_second"] < 0.9 * best["executions_per_second"]
                    else ""
                )
            )
    return " ".join(parts)


def listing(case: dict[str, Any]) -> str:
    parts = [
        "`list_executions()` lists the month folders, lists each month folder once, "
        "then reads every execution's metadata (status, finish, attempts, error) "
        "concurrently."
    ]
    by_store = {s["store"]: s for s in case["stores"]}
    weed = by_store.get("SeaweedFS")
    pages = by_store.get("SeaweedFS, one month")
    if weed:
        rows = [r for r in weed["rows"] if r.get("requests")]
        lists = sorted({r["requests"].get("ListObjectsV2", 0) for r in rows})
        last = rows[-1]
        gets = last["requests"].get("GetObject", 0)
        text = (
            f"On SeaweedFS the LIST requests stay at {', '.join(map(str, lists))} from "
            f"{rows[0]['executions']} to {last['executions']} executions: one for the root, "
            "one per month folder"
        )
        if pages:
            p = pages["rows"][0]
            text += (
                f", and one month holding {p['executions']} executions takes "
                f"{p['requests'].get('ListObjectsV2', 0)} (the root, then pages of 1 000)"
            )
        text += (
            ": they grow with months and pages, not executions (**met**). The reads do "
            f"grow with executions, one GET per execution ({gets} for {last['executions']}), "
            f"and they are the time: {_f(last['median_ms'] / 1000, ' s')} for "
            f"{last['executions']}, {last['executions'] / last['median_ms'] * 1000:.0f} "
            "GETs per second from this server. A `name` or `since` filter is applied to "
            "folder names first, so only the metadata of matching executions is read."
        )
        parts.append(text)
    local = by_store.get("local disk")
    if local:
        last = local["rows"][-1]
        parts.append(
            f"On local disk: {_f(last['median_ms'])} for {last['executions']} executions "
            "(a folder read per month, a file read per execution)."
        )
    return " ".join(parts)


def results(case: dict[str, Any]) -> str:
    rows = case["rows"]

    def call(r: dict[str, Any], name: str) -> float:
        return float(r["calls"][name]["median_ms"])

    small, big = rows[0], rows[-1]
    mid = next((r for r in rows[:-1] if 500_000 < r["size"] < 2_000_000), None)
    large = [r for r in rows if r["size"] >= 500_000]
    text = [
        "Times (left) against the floors: `orjson.dumps` writing the same bytes, then a "
        "bare write to a new file; a bare read, then `orjson.loads`. Saving costs "
        f"{_x(call(big, 'save_results') / call(big, 'orjson.dumps + bare write'))} the "
        f"floor at {_size(big['size'])}"
    ]
    if mid:
        text.append(
            f" and {_x(call(mid, 'save_results') / call(mid, 'orjson.dumps + bare write'))} at 1 MB"
        )
    text.append(
        ": the encoding is orjson's own (numpy arrays natively) and the writes are "
        "atomic (a temporary file, then a rename); at "
        f"{_size(small['size'])} ({_f(call(small, 'save_results') * 1000, ' µs')} "
        f"against {_f(call(small, 'orjson.dumps + bare write') * 1000, ' µs')}) those fixed "
        "costs, and opening each folder on the way without following links, are all "
        "there is. Loading costs "
        + ", ".join(
            f"{_x(call(r, 'load_results') / call(r, 'bare read + orjson.loads'))} the floor "
            f"at {_size(r['size'])}"
            for r in large
        )
        + " (target 1.3x: "
        + ", ".join(
            f"**{_met(call(r, 'load_results') / call(r, 'bare read + orjson.loads') <= 1.3)}**"
            f" at {_size(r['size'])}"
            for r in large
        )
        + "). Reading is `orjson.loads` plus a check that no number is an integer orjson "
        "read rounded (beyond 64 bits), which would need the exact parser: for an array "
        "of floats that check is a `max` and a `min` over every value, "
        f"{_x(call(big, 'decode_results') / call(big, 'orjson.loads'))} "
        f"`orjson.loads` alone at {_size(big['size'])}"
    )
    if mid:
        text.append(f" and {_x(call(mid, 'decode_results') / call(mid, 'orjson.loads'))} at 1 MB")
    if big["size"] > 100_000_000:
        text.append(
            " (a ratio that follows the machine's load: the same document measured "
            "1.28x to 1.30x on a quieter machine, in the results-writer benchmark below)"
        )
    peaks = [r for r in rows if "peak_bytes" in r]
    if peaks:
        text.append(
            ". Peak memory (right): `save_results` peaks at "
            + ", ".join(
                f"{r['peak_bytes']['save_results'] / r['size']:.2f}x the document at "
                f"{_size(r['size'])} (`orjson.dumps` alone: "
                f"{r['peak_bytes']['orjson.dumps'] / r['size']:.2f}x)"
                for r in peaks
            )
            + " (target 1.5x: "
            + ", ".join(
                f"**{_met(r['peak_bytes']['save_results'] / r['size'] < 1.5)}**" for r in peaks
            )
            + "): orjson's output buffer grows by doubling, so its peak depends on where "
            "the size falls between two doublings; pyexec_store adds no copy (the bytes "
            "go from orjson's buffer to the file). `load_results` peaks at "
            f"{big['peak_bytes']['load_results'] / big['size']:.1f}x, `orjson.loads` alone "
            f"at {big['peak_bytes']['orjson.loads'] / big['size']:.1f}x: the parsed "
            "document's Python floats, plus the file's bytes while they are parsed"
            if "peak_bytes" in big
            else ""
        )
    return "".join(text) + "."
