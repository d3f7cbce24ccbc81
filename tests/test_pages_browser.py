"""Execution pages opened in a real headless Chromium: offline, from disk and from S3.

Every request the browser makes is recorded: a page must load nothing but itself
and its ``data:`` images, log no console message, error or Content-Security-Policy
violation, open no dialog, and draw every figure.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium import Chromium, PageReport, chromium_binary
from conftest import BUCKET, s3_options
from test_pages import HOSTILE, successful

import pyexec_store as ps

BINARY = chromium_binary()
pytestmark = pytest.mark.skipif(
    BINARY is None,
    reason="needs a headless Chromium: apt-get install -y chromium (Debian's package)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    assert BINARY is not None
    chromium = Chromium(BINARY)
    yield chromium
    chromium.stop()


def assert_clean(report: PageReport, page_url: str) -> None:
    """Nothing but the page and its data: images; nothing failed, logged or run."""
    assert [u for u in report.requests if not u.startswith("data:")] == [page_url]
    assert report.failed == []
    assert report.console == []
    assert report.exceptions == []
    assert [e for e in report.log if e.get("level") in ("error", "warning")] == []
    assert report.dialogs == []
    assert report.facts["scripts"] == 0


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_a_page_opens_offline_from_disk(browser: Chromium, tmp_path: Path) -> None:
    store = ps.open_store(tmp_path)
    ctx = successful(store)
    url = store.render_page(ctx).as_uri()
    report = browser.open(url, 1200, 900)
    assert_clean(report, url)
    assert report.facts["images"] == report.facts["imagesDrawn"] == 2
    assert report.facts["details"] >= 2
    assert "sensor analysis ü" in report.facts["title"]
    assert "marker-code-line" in report.facts["text"] and "sensor T-101" in report.facts["text"]
    assert png_size(report.screenshot) == (1200, 900)


def test_a_hostile_page_runs_nothing(browser: Chromium, tmp_path: Path) -> None:
    store = ps.open_store(tmp_path)
    ctx = store.create_execution(HOSTILE)
    store.create_attempt_notebook(ctx, HOSTILE, stage=HOSTILE, error_context=HOSTILE)
    store.save_results(ctx, {"evil": HOSTILE})
    store.create_final_notebook(ctx, HOSTILE, results={"evil": HOSTILE}, error_context=HOSTILE)
    store.finish_execution(ctx, success=False, error=HOSTILE)
    url = store.render_page(ctx).as_uri()
    report = browser.open(url)
    assert_clean(report, url)  # no dialog, no request for "x", no script
    assert report.facts["images"] == 0
    assert report.facts["text"].count("<script>alert(1)</script>") >= 4


def test_a_presigned_page_opens_from_s3(browser: Chromium, s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/pages", **s3_options(s3))
    ctx = successful(store)
    store.render_page(ctx)
    (row,) = store.list_executions()
    report = browser.open(row.url)
    assert_clean(report, row.url)  # shown inline, not downloaded
    assert report.facts["images"] == report.facts["imagesDrawn"] == 2
    assert "sensor T-101" in report.facts["text"]
