"""Jupyter links, opened against a real Jupyter server whose root is the agent data folder."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

import pyexec_store as ps


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class JupyterServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(self.root.parent / "runtime"))
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                f"--ServerApp.root_dir={self.root}",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}",
                "--ServerApp.open_browser=False",
                "--allow-root",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.get("/api/status")
                return
            except (urllib.error.URLError, ConnectionError):
                assert self.process.poll() is None, "jupyter server exited"
                time.sleep(0.2)
        raise RuntimeError("jupyter server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)

    def get(self, path: str) -> Any:
        request = urllib.request.Request(
            self.base + path, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            return json.loads(response.read())

    def contents(self, link: str) -> Any:
        """What the contents API says of a JupyterLab ``/lab/tree/...`` link."""
        parts = urlsplit(link)
        assert parts.path.startswith("/lab/tree/"), link
        return self.get("/api/contents/" + parts.path[len("/lab/tree/") :] + "?content=0")


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    root = tmp_path_factory.mktemp("jupyter") / "agent_data"
    root.mkdir()
    server = JupyterServer(root)
    server.start()
    yield server
    server.stop()


def test_seed_facade_links_open_in_jupyter(jupyter: JupyterServer) -> None:
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
    final = nm.create_final_notebook(context=ctx, code="x = 3")

    assert ctx.folder_url.startswith(f"http://localhost:{jupyter.port}/lab/tree/executed_scripts/")
    folder = jupyter.contents(ctx.folder_url)
    assert folder["type"] == "directory"
    assert {"attempts", "notebook.ipynb", "execution_metadata.json"} <= {
        Path(c["path"]).name for c in jupyter.get("/api/contents/" + folder["path"])["content"]
    }
    for attempt in ctx.notebook_attempts:
        model = jupyter.contents(attempt.notebook_link)
        assert model["type"] == "notebook"
        assert jupyter.root / unquote(model["path"]) == attempt.notebook_path
    final_model = jupyter.contents(fm._create_jupyter_url(final))
    assert final_model["type"] == "notebook" and final_model["name"] == "notebook.ipynb"


def test_store_jupyter_links_with_a_prefix(jupyter: JupyterServer) -> None:
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
    model = jupyter.get("/api/contents/" + urlsplit(store.url(nb)).path[len("/lab/tree/") :])
    assert model["type"] == "notebook"
    cells = model["content"]["cells"]
    assert cells[-1]["source"] == "print(context)"
