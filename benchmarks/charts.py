"""The charts of docs/benchmarks.md, drawn from the run's numbers (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyexec_store.bench.plot import pyplot

OURS = "#1f77b4"
STEP = "#9ecae1"
FLOOR = "#b0b0b0"
OTHER = "#d62728"
COLORS = {"ours": OURS, "step": STEP, "floor": FLOOR, "original": OTHER}


def draw(cases: dict[str, Any], folder: Path) -> dict[str, str]:
    """Draw every chart whose case ran; file names relative to docs/, by case."""
    plt = pyplot()
    drawn = {}
    for name, fn in (
        ("execution", _execution),
        ("durable", _durable),
        ("concurrency", _concurrency),
        ("listing", _listing),
        ("results", _results),
    ):
        if name in cases:
            fig = fn(plt, cases[name])
            fig.tight_layout()
            fig.savefig(folder / f"bench-{name}.png", dpi=100)
            plt.close(fig)
            drawn[name] = f"img/bench-{name}.png"
    return drawn


def _execution(plt: Any, case: dict[str, Any]) -> Any:
    rows = case["rows"]
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(rows) + 1.2))
    labels = [f"{r['store']}: {r['writer']}" for r in rows]
    values = [r["median_ms"] for r in rows]
    colors = [COLORS[r["kind"]] for r in rows]
    ax.barh(range(len(rows)), values, color=colors)
    for i, v in enumerate(values):
        ax.text(v * 1.05, i, f"{v:.3g} ms", va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(min(values) / 2, max(values) * 4)
    ax.set_xlabel("ms per whole execution (median, log scale)")
    from matplotlib.patches import Patch

    names = {
        "ours": "pyexec_store",
        "step": "its backend alone / same requests",
        "floor": "floors",
        "original": "the original module",
    }
    ax.legend(
        handles=[Patch(color=COLORS[k], label=v) for k, v in names.items()],
        fontsize=8,
        loc="upper right",
    )
    ax.set_title("A whole execution, each store against its floors")
    return fig


def _durable(plt: Any, case: dict[str, Any]) -> Any:
    rows = case["rows"]
    fig, ax = plt.subplots(figsize=(8, 2.8))
    labels = [r["setting"] for r in rows]
    rest = [r["rest"]["median_ms"] if "rest" in r else 0.0 for r in rows]
    finish = [r["finish"]["median_ms"] if "finish" in r else 0.0 for r in rows]
    floor = [0.0 if "finish" in r else r["execution"]["median_ms"] for r in rows]
    ax.barh(labels, floor, color=FLOOR, label="floor: bare writes, then fsync")
    ax.barh(labels, rest, color=OURS, label="everything but the finish")
    ax.barh(labels, finish, left=rest, color=OTHER, label="finish_execution")
    ax.invert_yaxis()
    ax.set_xlabel("ms per execution (medians), local disk")
    ax.set_title("What durability costs")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def _concurrency(plt: Any, case: dict[str, Any]) -> Any:
    fig, (rate, latency) = plt.subplots(1, 2, figsize=(10, 3.6))
    for store in case["stores"]:
        workers = [r["workers"] for r in store["runs"]]
        rate.plot(
            workers, [r["executions_per_second"] for r in store["runs"]], "o-", label=store["store"]
        )
        for q, style in (("p50", "o-"), ("p99", "x--")):
            latency.plot(
                workers,
                [r["latency_ms"][q] for r in store["runs"]],
                style,
                label=f"{store['store']} {q}",
            )
    for ax in (rate, latency):
        ax.set_xscale("log", base=2)
        ax.set_xticks(case["levels"], [str(n) for n in case["levels"]])
        ax.set_xlabel("writer processes")
        ax.legend(fontsize=8)
    rate.set_ylabel("executions per second")
    rate.set_title("Throughput")
    latency.set_yscale("log")
    latency.set_ylabel("ms per execution")
    latency.set_title("Latency")
    return fig


def _listing(plt: Any, case: dict[str, Any]) -> Any:
    fig, (time_ax, req_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    for store in case["stores"]:
        if "one month" in store["store"]:
            continue
        n = [r["executions"] for r in store["rows"]]
        time_ax.plot(n, [r["median_ms"] for r in store["rows"]], "o-", label=store["store"])
        if store["rows"][0].get("requests"):
            for op, style in (("ListObjectsV2", "o-"), ("GetObject", "x--")):
                counts = [(r["requests"] or {}).get(op, 0) for r in store["rows"]]
                req_ax.plot(n, counts, style, label=f"{store['store']}: {op}")
    time_ax.set_xscale("log")
    time_ax.set_yscale("log")
    time_ax.set_xlabel("executions (12 month folders)")
    time_ax.set_ylabel("ms per list_executions()")
    time_ax.set_title("Listing time")
    time_ax.legend(fontsize=8)
    req_ax.set_xscale("log")
    req_ax.set_yscale("log")
    req_ax.set_xlabel("executions (12 month folders)")
    req_ax.set_ylabel("requests per list_executions()")
    req_ax.set_title("Listing requests on S3")
    req_ax.legend(fontsize=8)
    return fig


def _results(plt: Any, case: dict[str, Any]) -> Any:
    fig, (time_ax, mem_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    sizes = [r["size"] for r in case["rows"]]
    from report import size_text

    for name, style in (
        ("save_results", "o-"),
        ("orjson.dumps + bare write", "o:"),
        ("load_results", "s-"),
        ("bare read + orjson.loads", "s:"),
    ):
        values = [r["calls"][name]["median_ms"] for r in case["rows"]]
        time_ax.plot(sizes, values, style, label=name)
    time_ax.set_xscale("log")
    time_ax.set_yscale("log")
    time_ax.set_xlabel("results.json bytes")
    time_ax.set_ylabel("ms per call (median)")
    time_ax.set_title("Results: time against the floors")
    time_ax.legend(fontsize=8)
    peaks = [r for r in case["rows"] if "peak_bytes" in r]
    names = ("save_results", "orjson.dumps", "load_results", "orjson.loads")
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        xs = [x + (i - 1.5) * width for x in range(len(peaks))]
        mem_ax.bar(xs, [r["peak_bytes"][name] / r["size"] for r in peaks], width, label=name)
    mem_ax.axhline(1.5, color="black", linewidth=0.8, linestyle="--")
    mem_ax.set_xticks(range(len(peaks)), [size_text(r["size"]) for r in peaks])
    mem_ax.set_ylabel("peak traced memory / document size")
    mem_ax.set_title("Results: peak memory (dashed: 1.5x)")
    mem_ax.legend(fontsize=8)
    return fig
