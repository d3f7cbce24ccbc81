"""Pages from the command line: ``run`` renders them, ``view`` opens them, ``url`` links them."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
import pytest
from click.testing import CliRunner
from conftest import BUCKET, s3_options

import pyexec_store as ps
from pyexec_store import rendering
from pyexec_store.cli.app import cli

SCRIPT = """
import matplotlib.pyplot as plt
plt.plot([1, 2, 3], [3, 1, 2])
results = {"answer": 42, "label": "the usual"}
print("done")
"""


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run_script(tmp_path: Path, store: str, *options: str) -> str:
    path = tmp_path / "analysis.py"
    path.write_text(SCRIPT)
    result = invoke("run", "--store", store, *options, str(path))
    assert result.exit_code == 0, result.output
    return next(
        line.split()[1] for line in result.stdout.splitlines() if line.startswith("execution ")
    )


def pyexec_store(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyexec_store", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_run_renders_the_page(tmp_path: Path, local_root: Path) -> None:
    execution_id = run_script(tmp_path, str(local_root))
    ctx = ps.open_store(local_root).open_execution(execution_id)
    assert ctx.metadata["page"] == "execution.html"
    page = (ctx.folder_path / "execution.html").read_text()
    assert "the usual" in page and "data:image/png;base64," in page


def test_a_page_that_fails_to_render_is_a_warning_not_a_failed_run(
    tmp_path: Path,
    local_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("no page today")

    monkeypatch.setattr(rendering, "write_page", broken)
    path = tmp_path / "ok.py"
    path.write_text("results = 1\n")
    with caplog.at_level(logging.WARNING, logger="pyexec_store"):
        result = invoke("run", "--store", str(local_root), str(path))
    assert result.exit_code == 0
    assert [r.levelname for r in caplog.records if "no page today" in r.getMessage()] == ["WARNING"]
    (row,) = ps.open_store(local_root).list_executions()
    assert row.status == "success"


def test_view_opens_the_page_in_the_default_browser(tmp_path: Path, local_root: Path) -> None:
    execution_id = run_script(tmp_path, str(local_root))
    opened = tmp_path / "opened.txt"
    recorder = tmp_path / "browser.sh"
    recorder.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    recorder.chmod(0o755)
    proc = pyexec_store(
        "view", execution_id, "--store", str(local_root), env={"BROWSER": f"{recorder} %s"}
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    page = ps.open_store(local_root).open_execution(execution_id).folder_path / "execution.html"
    assert opened.read_text() == page.as_uri()  # the file itself: no server needed


def test_view_prints_the_link_where_no_browser_opens(
    tmp_path: Path, local_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    execution_id = run_script(tmp_path, str(local_root))
    monkeypatch.setattr("webbrowser.open", lambda url: False)
    result = invoke("view", execution_id, "--store", str(local_root))
    assert result.exit_code == 0
    assert result.stdout.strip().startswith("file://")
    assert result.stdout.strip().endswith("/execution.html")


def test_view_without_a_page_says_how_to_render_it(local_root: Path) -> None:
    store = ps.open_store(local_root)
    ctx = store.create_execution("no page")
    store.finish_execution(ctx)
    execution_id = ctx.metadata["execution_id"]
    result = CliRunner().invoke(cli, ["view", execution_id, "--store", str(local_root)])
    assert result.exit_code == 1
    assert f"pyexec-store view {execution_id} --render" in result.stderr
    assert "pyexec-store[html]" in result.stderr
    result = invoke("view", execution_id, "--store", str(local_root), "--render", "--print")
    assert result.exit_code == 0
    assert result.stdout.strip() == (ctx.folder_path / "execution.html").as_uri()
    assert store.open_execution(execution_id).metadata["page"] == "execution.html"


def test_view_and_url_on_s3_give_the_presigned_page(tmp_path: Path, s3: Any) -> None:
    url = f"s3://{BUCKET}/cli-pages"
    option = f"endpoint_url={s3.endpoint_url}"
    execution_id = run_script(tmp_path, url, "-o", option)
    for command in (["view", "--print"], ["url"]):
        link = invoke(*command, execution_id, "--store", url, "-o", option).stdout.strip()
        assert unquote(urlsplit(link).path).endswith("/execution.html")
        with urllib.request.urlopen(link, timeout=10) as response:
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert response.headers["Content-Disposition"] == 'inline; filename="execution.html"'
            assert b"the usual" in response.read()
    listed = orjson.loads(invoke("ls", "--store", url, "-o", option, "--json").stdout)
    assert unquote(urlsplit(listed[0]["url"]).path).endswith("/execution.html")
    store = ps.open_store(url, **s3_options(s3))
    assert store.list_executions()[0].status == "success"
