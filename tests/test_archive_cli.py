"""``pyexec-store archive``: output, exit statuses, --watch stopped by SIGINT and SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from archivetools import assert_archived, folder, record
from click.testing import CliRunner
from conftest import BUCKET, S3_SECRET, s3_options

import pyexec_store as ps
from pyexec_store.cli.app import cli


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_json_holds_the_report_and_nothing_else(s3: Any, local_root: Path) -> None:
    src = ps.open_store(local_root)
    ctx = record(src, "json")
    url = f"s3://{BUCKET}/archive"
    result = invoke(
        "archive", str(local_root), url, "-o", f"endpoint_url={s3.endpoint_url}", "--json"
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["archived"], report["failed"]) == (1, 0)
    (outcome,) = report["executions"]
    assert outcome["folder"] == folder(src, ctx) and outcome["action"] == "archived"
    assert outcome["verified_by"] == {"read back": len(outcome["copied"])}
    assert_archived(src, ps.open_store(url, **s3_options(s3)), folder(src, ctx))


def test_dry_run_lists_what_would_be_copied_and_deleted_with_sizes(
    local_root: Path, tmp_path: Path
) -> None:
    src = ps.open_store(local_root)
    ctx = record(src, "dry")
    dst = tmp_path / "dst"
    result = invoke("archive", str(local_root), str(dst), "--dry-run", "--delete-source")
    assert result.exit_code == 0
    line = next(x for x in result.stdout.splitlines() if x.startswith("would archive "))
    assert folder(src, ctx) in line and " files, " in line and "KB" in line
    assert "would delete from the source" in line
    assert result.stdout.splitlines()[-1].startswith("dry run: would archive 1 (")
    assert not dst.exists() and len(src.list_executions()) == 1


def test_a_failed_archive_exits_1_naming_every_execution_and_why(s3: Any, local_root: Path) -> None:
    src = ps.open_store(local_root)
    contexts = [record(src, "a"), record(src, "b")]
    result = invoke(
        "archive", str(local_root), "s3://no-such-bucket/x", "-o", f"endpoint_url={s3.endpoint_url}"
    )
    assert result.exit_code == 1
    errors = [x for x in result.stderr.splitlines() if x.startswith("pyexec-store: error: ")]
    assert len(errors) == 2
    for ctx, line in zip(contexts, errors, strict=True):
        assert folder(src, ctx) in line and "no-such-bucket" in line
    assert S3_SECRET not in result.stderr + result.stdout
    assert "failed 2" in result.stdout


def test_progress_bars_count_executions_and_bytes_on_a_terminal(
    local_root: Path, tmp_path: Path
) -> None:
    import io

    from rich.console import Console

    from pyexec_store.cli.archive_cmd import ArchiveProgress

    src = ps.open_store(local_root)
    record(src, "one")
    record(src, "two")
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    bars = ArchiveProgress(console)
    with bars.bars:
        report = ps.archive(src, tmp_path / "dst", progress=bars)
    executions, sent = bars.bars.tasks
    assert (executions.completed, executions.total) == (2, 2)
    assert sent.completed == sent.total == report.bytes > 0
    assert "executions" in console.file.getvalue()  # type: ignore[attr-defined]


def test_an_option_neither_store_takes_is_bad_usage(local_root: Path, tmp_path: Path) -> None:
    result = invoke("archive", str(local_root), str(tmp_path / "d"), "-o", "endpont_url=x")
    assert result.exit_code == 2 and "endpont_url" in result.stderr


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_watch_archives_what_finishes_and_stops_cleanly_on_a_signal(
    s3: Any, local_root: Path, stop_signal: int
) -> None:
    src = ps.open_store(local_root)
    url = f"s3://{BUCKET}/archive"
    command = [sys.executable, "-m", "pyexec_store", "archive", str(local_root), url]
    command += ["-o", f"endpoint_url={s3.endpoint_url}", "--watch", "0.3", "--json"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dst = ps.open_store(url, **s3_options(s3))
    try:
        ctx = record(src, "watched", finish=False)
        key = folder(src, ctx)
        time.sleep(1.0)
        assert dst.backend.find(key) == []  # running: not archived
        src.finish_execution(ctx, success=True)
        deadline = time.monotonic() + 20
        while "archive_manifest.json" not in dst.backend.find(key):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        proc.send_signal(stop_signal)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert_archived(src, dst, key)
    passes = [json.loads(line) for line in out.splitlines()]  # stdout: JSON only
    assert [p["archived"] for p in passes] == [1]
