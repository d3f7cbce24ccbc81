"""The numbers the report quotes, read out of a run's results, and the targets they meet."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any


def row(case: dict[str, Any], store: str, writer: str) -> dict[str, Any] | None:
    """The execution case's row for ``store`` and ``writer``."""
    return next((r for r in case["rows"] if r["store"] == store and r["writer"] == writer), None)


def ms(case: dict[str, Any], store: str, writer: str) -> float | None:
    found = row(case, store, writer)
    return found["median_ms"] if found else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def saturation(runs: list[dict[str, Any]], share: float = 0.9) -> int:
    """The fewest writers that reach ``share`` of the best throughput measured."""
    best = max(r["executions_per_second"] for r in runs)
    return int(next(r["workers"] for r in runs if r["executions_per_second"] >= share * best))


def grows_to_peak(runs: list[dict[str, Any]]) -> bool:
    """Whether throughput never falls on the way to its peak."""
    rates = [r["executions_per_second"] for r in runs]
    peak = rates.index(max(rates))
    return all(a <= b for a, b in itertools.pairwise(rates[: peak + 1]))


@dataclass
class Target:
    name: str
    measured: str
    met: bool | None

    @property
    def verdict(self) -> str:
        return "n/a" if self.met is None else ("met" if self.met else "missed")


def targets(cases: dict[str, Any]) -> list[Target]:
    """Every target the issue sets, with the measured value and whether it is met."""
    found: list[Target] = []
    ex = cases.get("execution")
    if ex:
        mem = ms(ex, "memory", "pyexec_store")
        local = ms(ex, "local disk", "pyexec_store, durable=False")
        local_default = ms(ex, "local disk", "pyexec_store (default)")
        bare = ms(ex, "local disk", "bare open/write/close")
        bare_sync = ms(ex, "local disk", "bare writes, then fsync each file and folder")
        seed = ms(ex, "local disk", "original module's approach")
        r = ratio(local, mem)
        found.append(
            Target(
                "memory at least 3x faster per execution than local disk",
                f"{r:.1f}x (memory {mem:.3g} ms, local disk without sync {local:.3g} ms; "
                f"with its default sync {ratio(local_default, mem):.0f}x)",
                r >= 3,
            )
            if r and mem and local and local_default
            else Target("memory at least 3x faster than local disk", "not measured", None)
        )
        r = ratio(local, bare)
        if r:
            found.append(
                Target(
                    "local disk within 1.5x of the bare-write floor (no sync on either side)",
                    f"{r:.2f}x ({local:.3g} ms against {bare:.3g} ms)",
                    r <= 1.5,
                )
            )
        r = ratio(local_default, bare_sync)
        if r:
            found.append(
                Target(
                    "the same, as shipped (synced at the finish) against bare writes + fsync",
                    f"{r:.2f}x ({local_default:.3g} ms against {bare_sync:.3g} ms)",
                    r <= 1.5,
                )
            )
        r = ratio(seed, local)
        if r:
            found.append(
                Target(
                    "local disk faster than the original's approach (neither syncs)",
                    f"{r:.1f}x faster ({local:.3g} ms against {seed:.3g} ms)",
                    r > 1,
                )
            )
        r = ratio(seed, local_default)
        if r:
            found.append(
                Target(
                    "the same, as shipped (synced at the finish; the original never syncs)",
                    f"{r:.2f}x ({local_default:.3g} ms against {seed:.3g} ms)",
                    r > 1,
                )
            )
        for server in ("SeaweedFS", "moto"):
            ours = row(ex, server, "pyexec_store")
            seq = ms(ex, server, "put_object, one after the other")
            if ours is None or not seq:
                continue
            r = ours["median_ms"] / seq
            requests = ours.get("requests") or {}
            exact = requests == {"PutObject": ex["objects"]}
            if server == "SeaweedFS":
                found.append(
                    Target(
                        "S3 (SeaweedFS) within 1.1x of sequential put_object",
                        f"{r:.2f}x ({ours['median_ms']:.3g} ms against {seq:.3g} ms)",
                        r <= 1.1,
                    )
                )
            found.append(
                Target(
                    f"S3 ({server}): one request per object written, nothing else",
                    ", ".join(f"{n} {op}" for op, n in sorted(requests.items()))
                    + f" for {ex['objects']} objects",
                    exact,
                )
            )
    cc = cases.get("concurrency")
    if cc:
        for store in cc["stores"]:
            runs = store["runs"]
            sat = saturation(runs)
            text = " → ".join(f"{r['workers']}: {r['executions_per_second']:.0f}/s" for r in runs)
            found.append(
                Target(
                    f"concurrency on {store['store']}: executions/s grow until saturation",
                    f"{text}; saturated (90% of the peak) from {sat} "
                    f"writer{'s' if sat > 1 else ''}",
                    grows_to_peak(runs),
                )
            )
    ls = cases.get("listing")
    if ls:
        for store in ls["stores"]:
            rows = [r for r in store["rows"] if r.get("requests")]
            if not rows:
                continue
            lists = [r["requests"].get("ListObjectsV2", 0) for r in rows]
            gets = [r["requests"].get("GetObject", 0) for r in rows]
            text = "; ".join(
                f"{r['executions']} in {r['months']} months: {lo} LIST, {g} GET"
                for r, lo, g in zip(rows, lists, gets, strict=True)
            )
            flat = len(set(lists)) == 1 or store["store"].endswith("one month")
            found.append(Target(f"listing requests on {store['store']}", text, flat))
    rs = cases.get("results")
    if rs:
        for r in rs["rows"]:
            calls = r["calls"]
            load = calls["load_results"]["median_ms"] / calls["orjson.loads"]["median_ms"]
            like = (
                calls["load_results"]["median_ms"] / calls["bare read + orjson.loads"]["median_ms"]
            )
            if r["size"] >= 500_000:
                found.append(
                    Target(
                        f"load_results within 1.3x orjson.loads, {r['size'] / 1e6:.3g} MB",
                        f"{load:.2f}x orjson.loads alone; {like:.2f}x bare read + orjson.loads",
                        like <= 1.3,
                    )
                )
            peaks = r.get("peak_bytes")
            if peaks and r["size"] >= 10_000_000:
                save = peaks["save_results"] / r["size"]
                orj = peaks["orjson.dumps"] / r["size"]
                found.append(
                    Target(
                        f"save_results peak memory under 1.5x the document, "
                        f"{r['size'] / 1e6:.3g} MB",
                        f"{save:.2f}x (orjson.dumps alone: {orj:.2f}x)",
                        save < 1.5,
                    )
                )
    return found
