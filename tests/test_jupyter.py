"""Jupyter links, opened as given in a real JupyterLab whose root is the store root."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest

import pyexec_store as ps

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class JupyterLab:
    """A real JupyterLab on 127.0.0.1, without a token (links carry none), serving ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        home = self.root.parent
        env = dict(
            os.environ,
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                f"--ServerApp.root_dir={self.root}",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                "--IdentityProvider.token=",
                "--ServerApp.open_browser=False",
                # No request leaves this machine: no update check against a package index.
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--allow-root",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                self.get("/api/status")
                return
            except (urllib.error.URLError, ConnectionError):
                assert self.process.poll() is None, "jupyter lab exited"
                time.sleep(0.2)
        raise RuntimeError("jupyter lab did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=10) as response:
            assert response.status == 200
            return json.loads(response.read())

    def open_link(self, link: str) -> Any:
        """Open ``link`` exactly as given: JupyterLab's page must answer 200 for it,
        and the contents API must find the file or folder that page opens."""
        with urllib.request.urlopen(link, timeout=10) as response:
            assert response.status == 200
            page = response.read().decode()
        # JupyterLab answers any /lab/tree/ path with its page; the page names what it opens.
        found = re.search(r'<script id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S)
        assert found, "not a JupyterLab page"
        config = json.loads(found.group(1))
        assert config["appName"] == "JupyterLab"
        assert urlsplit(link).path == f"/lab/tree/{quote(config['treePath'], safe='/')}"
        return self.get(f"/api/contents/{quote(config['treePath'], safe='/')}?content=0")


@pytest.fixture(scope="session")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """One JupyterLab for the session; its root is the store root of the tests using it."""
    root = tmp_path_factory.mktemp("jupyter") / "agent_data"
    root.mkdir()
    server = JupyterLab(root)
    server.start()
    yield server
    server.stop()


def test_seed_facade_links_open_in_jupyterlab(jupyter: JupyterLab) -> None:
    conf = {
        "agent_data_dir": str(jupyter.root),
        "service_configs": {
            "framework": {"jupyter": {"containers": {"read": {"port_host": jupyter.port}}}}
        },
    }
    fm, nm = ps.FileManager(conf), ps.NotebookManager(conf)
    ctx = fm.create_execution_folder("jupyter check")
    nm.create_attempt_notebook(context=ctx, code="x = 1", stage="execution")
    nm.create_attempt_notebook(context=ctx, code="x = 2", stage="retry", error_context="E")
    results = fm.save_results({"x": 3}, ctx.folder_path)
    final = nm.create_final_notebook(context=ctx, code="x = 3", results={"x": 3})

    # The original's links: http://localhost:<port>/lab/tree/executed_scripts/...
    assert ctx.folder_url.startswith(f"http://localhost:{jupyter.port}/lab/tree/executed_scripts/")
    folder = jupyter.open_link(ctx.folder_url)
    assert folder["type"] == "directory"
    assert jupyter.root / unquote(folder["path"]) == ctx.folder_path
    for attempt in ctx.notebook_attempts:
        model = jupyter.open_link(attempt.notebook_link)
        assert model["type"] == "notebook"
        assert jupyter.root / unquote(model["path"]) == attempt.notebook_path
    for path, kind in ((final, "notebook"), (results, "file"), (ctx.attempts_folder, "directory")):
        model = jupyter.open_link(fm._create_jupyter_url(path))
        assert model["type"] == kind and jupyter.root / unquote(model["path"]) == path


def test_store_links_open_in_jupyterlab(jupyter: JupyterLab) -> None:
    store = ps.open_store(jupyter.root, url_strategy="jupyter", jupyter_base_url=jupyter.base)
    ctx = store.create_execution("store links")
    store.save_context(ctx, {"a": 1})
    paths = [
        store.create_attempt_notebook(ctx, "print(context)", stage="code gen"),
        store.save_results(ctx, {"a": 1}),
        store.save_figure(ctx, PNG),
        store.create_final_notebook(ctx, "print(context)"),
    ]
    for path in paths:
        model = jupyter.open_link(store.url(path))
        assert jupyter.root / unquote(model["path"]) == path
    assert jupyter.open_link(ctx.folder_url)["type"] == "directory"
    assert jupyter.open_link(store.url(paths[0]))["type"] == "notebook"


def test_store_jupyter_links_with_a_prefix(jupyter: JupyterLab) -> None:
    # The Jupyter root is one level above the store: links carry that prefix.
    store = ps.open_store(
        jupyter.root / "team_a",
        url_strategy="jupyter",
        jupyter_base_url=jupyter.base,
        jupyter_prefix="team_a/executed_scripts",
    )
    ctx = store.create_execution("prefixed")
    store.save_context(ctx, {"a": 1})
    nb = store.create_attempt_notebook(ctx, "print(context)")
    model = jupyter.open_link(store.url(nb))
    assert model["type"] == "notebook"
    assert jupyter.root / unquote(model["path"]) == nb


def test_cli_links_open_in_jupyterlab(jupyter: JupyterLab, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pyexec_store.cli.app import cli

    script = tmp_path / "linked.py"
    script.write_text("results = {'ok': True}\n")
    options = ["--store", str(jupyter.root), "-o", "url_strategy=jupyter"]
    options += ["-o", f"jupyter_base_url={jupyter.base}"]
    runner = CliRunner()
    ran = runner.invoke(cli, ["run", *options, str(script)], catch_exceptions=False)
    assert ran.exit_code == 0, ran.output
    execution_id = next(
        line.split()[1] for line in ran.stdout.splitlines() if line.startswith("execution ")
    )
    links = [line.rsplit(" ", 1)[1] for line in ran.stdout.splitlines() if line.startswith("file ")]
    assert len(links) >= 5
    for link in links:  # every file link that run printed opens
        assert jupyter.open_link(link)["type"] in ("notebook", "file")
    folder = runner.invoke(cli, ["url", execution_id, *options], catch_exceptions=False).stdout
    assert jupyter.open_link(folder.strip())["type"] == "directory"
