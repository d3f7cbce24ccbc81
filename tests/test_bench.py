"""``pyexec-store bench``: the JSON it prints, what it writes, what it leaves behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fsspec
import pytest
from click.testing import CliRunner
from conftest import BUCKET, s3_options
from s3server import RecordingMotoServer

import pyexec_store as ps
from pyexec_store.bench import Workload, parse_size, percentile
from pyexec_store.bench.parallel import shares
from pyexec_store.cli.app import cli

#: What one execution of the default workload writes: the metadata (claimed,
#: then updated), context.json, 3 attempt notebooks, results.json, 2 figures,
#: the final notebook.
OBJECTS = 10


def bench(*args: str) -> Any:
    return CliRunner().invoke(cli, ["bench", *args], catch_exceptions=False)


def memory_keys(url: str) -> list[str]:
    fs = fsspec.filesystem("memory")
    root = fs._strip_protocol(url)
    return [k for k in fs.store if k.startswith(root + "/")]


def test_json_for_memory_and_local(memory_url: str, tmp_path: Path) -> None:
    local = tmp_path / "store"
    local.mkdir()
    result = bench(
        "--store", memory_url, "--store", str(local), "--executions", "3", "-c", "2", "--json"
    )
    assert result.exit_code == 0, result.output
    reports = json.loads(result.stdout)
    assert [r["url"] for r in reports] == [memory_url, str(local)]
    for report in reports:
        assert report["workload"] == Workload(executions=3).to_json()
        assert [(r["workers"], r["executions"]) for r in report["runs"]] == [(1, 3), (2, 3)]
        for run in report["runs"]:
            assert run["seconds"] > 0 and run["executions_per_second"] > 0
            latency = run["latency_ms"]
            assert 0 < latency["min"] <= latency["p50"] <= latency["p95"] <= latency["p99"]
        assert set(report["operations_ms"]) == set(ps.bench.OPERATIONS)
        assert report["objects_written_per_execution"] == OBJECTS
        assert report["bytes_written_per_execution"] > 40_000  # two 20 KB figures and more
        assert report["requests_per_execution"] is None
        assert report["written_under"].startswith(report["url"])
        assert report["kept"] is False
    assert [r["mode"] for r in reports[0]["runs"]] == ["in-process", "threads"]
    assert [r["mode"] for r in reports[1]["runs"]] == ["in-process", "processes"]
    # Everything written is gone, prefix folder included.
    assert list(local.iterdir()) == []
    assert memory_keys(memory_url) == []


def test_keep_leaves_the_executions(tmp_path: Path) -> None:
    result = bench("--store", str(tmp_path), "-n", "2", "-c", "1", "--keep", "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)
    assert report["kept"] is True
    under = Path(report["written_under"])
    assert under.parent == tmp_path
    rows = ps.open_store(under).list_executions()
    # The measured executions, and the one that warmed up first.
    assert len(rows) == 3 and {r.status for r in rows} == {"success"}
    assert "kept" in result.stderr


def test_requests_on_s3_are_one_put_per_object(s3: RecordingMotoServer, tmp_path: Path) -> None:
    opts = [f"{k}={v}" for k, v in s3_options(s3).items()]
    result = bench(
        "--store",
        f"s3://{BUCKET}/bench",
        *(a for o in opts for a in ("-o", o)),
        "-n",
        "3",
        "-c",
        "1",
        "--json",
    )
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)
    assert report["requests_per_execution"] == {"PutObject": OBJECTS}
    assert report["objects_written_per_execution"] == OBJECTS
    # What the server saw agrees: one PUT per object of the 4 executions (3 and
    # the warm-up), then the clean-up (listing and deleting), nothing else.
    seen = [r for r in s3.take_requests()]
    puts = [r for r in seen if r.method == "PUT"]
    assert len(puts) == 4 * OBJECTS
    assert all("uploadId" not in r.query for r in puts)
    assert {r.method for r in seen} <= {"PUT", "GET", "POST"}
    import boto3

    left = boto3.client("s3", endpoint_url=s3.endpoint_url).list_objects_v2(Bucket=BUCKET)
    assert left.get("KeyCount", 0) == 0


def test_options_go_to_the_stores_that_take_them(
    s3: RecordingMotoServer, memory_url: str, tmp_path: Path
) -> None:
    opts = [a for k, v in s3_options(s3).items() for a in ("-o", f"{k}={v}")]
    args = ["--store", memory_url, "--store", f"s3://{BUCKET}/b", *opts, "-n", "1", "-c", "1"]
    result = bench(*args, "--plot", str(tmp_path / "chart.png"))
    assert result.exit_code == 0, result.output
    assert "PutObject" in result.stdout and memory_url in result.stdout
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize(
    "args",
    [
        ["-o", "endpoint_url=http://127.0.0.1:9"],  # no store takes it
        ["--results-size", "lots"],
        ["--concurrency", "0"],
    ],
)
def test_bad_usage(memory_url: str, args: list[str]) -> None:
    result = bench("--store", memory_url, "-n", "1", *args)
    assert result.exit_code == 2, result.output


def test_sizes_percentiles_and_shares() -> None:
    assert parse_size("1MB") == 1_000_000
    assert parse_size("1.5 kb") == 1500
    assert parse_size("512KiB") == 512 * 1024
    assert parse_size("150MB") == 150_000_000
    assert parse_size(7) == 7
    with pytest.raises(ps.ConfigError):
        parse_size("-1MB")
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0], 95) == pytest.approx(1.95)
    assert percentile([5.0], 99) == 5.0
    assert shares(10, 4) == [3, 3, 2, 2]
    assert shares(2, 4) == [1, 1, 0, 0]


def test_results_size_is_about_what_was_asked() -> None:
    for size in (1_000, 100_000, 1_000_000):
        data = ps.bench.payload(Workload(results_size=size)).results
        assert 0.95 * size < len(ps.encode_results(data).data) < 1.05 * size


def test_requests_are_counted_on_the_client_that_sends_them(
    s3: RecordingMotoServer, memory_url: str
) -> None:
    # A filesystem with the same options, still alive, compares equal to the
    # bench's own (fsspec's tokens) but has another client: count on the sender.
    held = ps.open_store(f"s3://{BUCKET}/b", **s3_options(s3))
    held.list_executions()
    opts = [a for k, v in s3_options(s3).items() for a in ("-o", f"{k}={v}")]
    result = bench("--store", f"s3://{BUCKET}/b", *opts, "-n", "1", "-c", "1")
    assert result.exit_code == 0, result.output
    assert "PutObject" in result.stdout
