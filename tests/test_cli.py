"""The pyexec-store command: through click's CliRunner, and as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from conftest import BUCKET, s3_options

import pyexec_store as ps
from pyexec_store.cli.app import cli

GOOD = """
import sys
import matplotlib.pyplot as plt
import numpy as np
print("hello", *sys.argv[1:])
print("to stderr", file=sys.stderr)
x = np.arange(5)
plt.plot(x, x ** 2)
plt.figure()
plt.plot(x, -x)
results = {"total": int(x.sum()), "values": x}
"""
FAILING = """
print("about to fail")
results = {"partial": 1}
raise ValueError("bad input")
"""
SLOW = """
import time
print("started", flush=True)
time.sleep(120)
"""


def script(tmp_path: Path, name: str, code: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(code))
    return path


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def meta(store: ps.ArtifactStore, execution_id: str) -> dict[str, Any]:
    ctx = store.open_execution(execution_id)
    return ctx.metadata


def printed_id(output: str) -> str:
    return next(line.split()[1] for line in output.splitlines() if line.startswith("execution "))


def test_run_records_everything(tmp_path: Path, local_root: Path) -> None:
    result = invoke(
        "run", "--store", str(local_root), str(script(tmp_path, "good", GOOD)), "a", "-x"
    )
    assert result.exit_code == 0, result.output
    assert "hello a -x" in result.stdout
    execution_id = printed_id(result.stdout)
    store = ps.open_store(local_root)
    ctx = store.open_execution(execution_id)
    m = ctx.metadata
    assert (m["status"], m["exit_status"], m["figures"], m["results_saved"]) == (
        "success",
        0,
        2,
        True,
    )
    assert "hello a -x" in m["stdout_tail"] and "to stderr" in m["stderr_tail"]
    assert m["duration_seconds"] > 0 and m["name"] == "good"
    assert store.load_results(ctx) == {"total": 10, "values": [0, 1, 2, 3, 4]}
    context = store.load_context(ctx)
    assert context["pyexec_store"]["command"][1:] == ["a", "-x"]
    files = set(store.backend.find(store.key(ctx.folder_path)))
    assert {"figures/figure_01.png", "figures/figure_02.png", "notebook.ipynb"} <= files
    assert [a.stage for a in ctx.notebook_attempts] == ["pre_execution"]
    for name in files:  # every file is printed with its link
        assert f"file {name} " in result.stdout
    assert f"folder {ctx.folder_path}\n" in result.stdout


def test_run_a_failing_script(tmp_path: Path, local_root: Path) -> None:
    result = invoke(
        "run", "--store", str(local_root), "--name", "fails", str(script(tmp_path, "f", FAILING))
    )
    assert result.exit_code == 1
    store = ps.open_store(local_root)
    ctx = store.open_execution(printed_id(result.stdout))
    m = ctx.metadata
    assert (m["status"], m["exit_status"]) == ("failed", 1)
    assert m["error"] == "ValueError: bad input"
    assert 'raise ValueError("bad input")' in m["traceback"] and "_child" not in m["traceback"]
    assert [a.stage for a in ctx.notebook_attempts] == ["pre_execution", "execution_failed"]
    assert "ValueError: bad input" in (ctx.notebook_attempts[1].error_context or "")
    final = store.load_notebook(ctx.folder_path / "notebook.ipynb")
    assert final.cells[0].source.startswith("# Python Executor - Failed Execution")
    assert store.load_results(ctx) == {"partial": 1}  # kept although the script failed


def test_run_returns_the_scripts_exit_status(tmp_path: Path, local_root: Path) -> None:
    path = script(tmp_path, "exit3", "import sys\nsys.exit(3)\n")
    result = invoke("run", "--store", str(local_root), str(path))
    assert result.exit_code == 3
    row = ps.open_store(local_root).list_executions()[0]
    assert (row.status, row.error) == ("failed", "exit status 3")


def test_run_with_a_timeout(tmp_path: Path, local_root: Path) -> None:
    result = invoke(
        "run", "--store", str(local_root), "--timeout", "1", str(script(tmp_path, "slow", SLOW))
    )
    assert result.exit_code == 124
    m = meta(ps.open_store(local_root), printed_id(result.stdout))
    assert m["status"] == "failed" and m["error"] == "timed out after 1 s"
    assert "started" in m["stdout_tail"]


def test_run_with_context(tmp_path: Path, local_root: Path) -> None:
    ctx_file = tmp_path / "ctx.json"
    ctx_file.write_text('{"task": "sum", "n": 1}')
    path = script(tmp_path, "ok", "results = 1\n")
    result = invoke(
        "run",
        "--store",
        str(local_root),
        "--context",
        str(ctx_file),
        "--context-json",
        '{"n": 2}',
        str(path),
    )
    store = ps.open_store(local_root)
    context = store.load_context(store.open_execution(printed_id(result.stdout)))
    assert (context["task"], context["n"]) == ("sum", 2)
    bad = invoke("run", "--store", str(local_root), "--context-json", "[1]", str(path))
    assert bad.exit_code == 2 and "must be a JSON object" in bad.stderr


def start_run(tmp_path: Path, store_url: str, code: str) -> subprocess.Popen[str]:
    path = script(tmp_path, "long", code)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyexec_store", "run", "--store", store_url, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    return proc


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_a_run_killed_with_sigkill_is_interrupted(tmp_path: Path, local_root: Path) -> None:
    proc = start_run(tmp_path, str(local_root), SLOW)
    script_pids = children(proc.pid)
    proc.kill()
    proc.wait()
    result = invoke("ls", "--store", str(local_root), "--json")
    (row,) = json.loads(result.stdout)
    assert row["status"] == "interrupted"
    deadline = time.monotonic() + 10  # the script dies with its recorder
    while any(os.path.exists(f"/proc/{p}") for p in script_pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{p}") for p in script_pids)


def test_ctrl_c_finishes_the_execution_as_failed(tmp_path: Path, local_root: Path) -> None:
    proc = start_run(tmp_path, str(local_root), SLOW)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    execution_id = printed_id(out)
    m = meta(ps.open_store(local_root), execution_id)
    assert m["status"] == "failed" and "Ctrl-C" in m["error"]


def test_run_on_s3_uploads_the_artifacts(tmp_path: Path, s3: Any) -> None:
    url = f"s3://{BUCKET}/cli"
    option = f"endpoint_url={s3.endpoint_url}"
    path = script(tmp_path, "good", GOOD)
    proc = subprocess.run(
        [sys.executable, "-m", "pyexec_store", "run", "--store", url, "-o", option, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    store = ps.open_store(url, **s3_options(s3))
    (row,) = store.list_executions()
    assert (row.status, row.figures) == ("success", 2)
    link = invoke("url", row.execution_id, "--store", url, "-o", option).stdout.strip()
    assert link.split("?")[0] == row.url.split("?")[0]  # the execution page (run renders it)
    assert link.split("?")[0].endswith("/execution.html")
    with urllib.request.urlopen(link, timeout=10) as response:
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert b"<!DOCTYPE html>" in response.read()
    results = invoke(
        "url",
        f"{store.key(row.path)}/results.json",
        "--store",
        url,
        "-o",
        option,
        "--expires",
        "60",
    )
    assert "X-Amz-Expires=60" in results.stdout
    with urllib.request.urlopen(results.stdout.strip(), timeout=10) as response:
        assert json.loads(response.read())["total"] == 10


def test_ls_json_schema_and_filters(tmp_path: Path, local_root: Path) -> None:
    for name in ("alpha", "beta", "gamma"):
        invoke(
            "run",
            "--store",
            str(local_root),
            "--name",
            name,
            str(script(tmp_path, name, "results = 1\n")),
        )
    invoke(
        "run", "--store", str(local_root), "--name", "delta", str(script(tmp_path, "d", FAILING))
    )
    rows = json.loads(invoke("ls", "--store", str(local_root), "--json").stdout)
    assert [r["name"] for r in rows] == ["delta", "gamma", "beta", "alpha"]  # newest first
    keys = {
        "execution_id",
        "name",
        "status",
        "created_at",
        "finished_at",
        "attempts",
        "path",
        "url",
    }
    assert all(keys <= set(r) for r in rows)
    assert all(len(r["execution_id"]) == 8 and r["url"].startswith("file://") for r in rows)
    failed = json.loads(
        invoke("ls", "--store", str(local_root), "--json", "--status", "failed").stdout
    )
    assert [r["name"] for r in failed] == ["delta"]
    limited = json.loads(invoke("ls", "--store", str(local_root), "--json", "--limit", "2").stdout)
    assert [r["name"] for r in limited] == ["delta", "gamma"]
    assert (
        json.loads(invoke("ls", "--store", str(local_root), "--json", "--since", "1d").stdout)
        == rows
    )
    table = invoke("ls", "--store", str(local_root)).stdout
    assert all(r["execution_id"] in table for r in rows)


def test_show_by_id_and_folder_name(tmp_path: Path, local_root: Path) -> None:
    result = invoke("run", "--store", str(local_root), str(script(tmp_path, "good", GOOD)))
    execution_id = printed_id(result.stdout)
    store = ps.open_store(local_root)
    folder = store.open_execution(execution_id).folder_path
    by_id = json.loads(invoke("show", execution_id, "--store", str(local_root), "--json").stdout)
    by_name = json.loads(invoke("show", folder.name, "--store", str(local_root), "--json").stdout)
    assert by_id == by_name
    sizes = {f["path"]: f["size"] for f in by_id["files"]}
    assert sizes["results.json"] == (folder / "results.json").stat().st_size
    assert by_id["metadata"]["exit_status"] == 0 and by_id["status"] == "success"
    text = invoke("show", execution_id, "--store", str(local_root)).stdout
    assert "hello" in text and "results.json" in text


def test_bad_usage_is_one_line_and_exit_2(local_root: Path) -> None:
    result = invoke("ls", "--store", str(local_root), "--since", "yesterday-ish")
    assert (
        result.exit_code == 2
        and result.stderr.count("\n") == 1
        and "Traceback" not in result.stderr
    )
    result = invoke("show", "0badc0de", "--store", str(local_root))
    assert result.exit_code == 1 and "no such execution" in result.stderr
    result = invoke("ls", "--store", str(local_root), "-o", "not-an-option")
    assert result.exit_code == 2


def test_a_dead_endpoint_fails_fast_with_exit_1() -> None:
    result = invoke(
        "ls",
        "--store",
        f"s3://{BUCKET}/x",
        "-o",
        "endpoint_url=http://127.0.0.1:9",
        "-o",
        "deadline=3",
    )
    assert result.exit_code == 1
    assert (
        result.stderr.startswith("pyexec-store: error: could not list")
        and "Traceback" not in result.stderr
    )
    assert "pyexec-test-secret" not in result.stderr


def test_without_the_cli_extra_the_command_names_it() -> None:
    code = "import sys; sys.modules['rich'] = None; from pyexec_store.cli import main; main([])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2 and "pip install 'pyexec-store[cli]'" in proc.stderr


def test_url_of_a_local_execution(tmp_path: Path, local_root: Path) -> None:
    result = invoke("run", "--store", str(local_root), str(script(tmp_path, "ok", "results = 1\n")))
    execution_id = printed_id(result.stdout)
    folder = ps.open_store(local_root).open_execution(execution_id).folder_path
    assert invoke("url", execution_id, "--store", str(local_root)).stdout == folder.as_uri() + "\n"
    jupyter = invoke(
        "url", execution_id, "--store", str(local_root), "--strategy", "jupyter"
    ).stdout
    assert (
        jupyter
        == f"http://localhost:8088/lab/tree/executed_scripts/{folder.parent.name}/{folder.name}\n"
    )
