"""The seed-compatible FileManager, NotebookManager and helpers."""

from __future__ import annotations

import json
import logging
import stat
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nbformat
import pytest
from conftest import BUCKET, S3_KEY, S3_SECRET, s3_options
from upath import UPath

import pyexec_store as ps


def configurable(root: Path, port: int | None = 8099, **extra: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {"agent_data_dir": str(root), **extra}
    if port is not None:
        conf["service_configs"] = {
            "framework": {"jupyter": {"containers": {"read": {"port_host": port}}}}
        }
    return conf


def test_create_execution_folder_like_the_seed(local_root: Path) -> None:
    fm = ps.FileManager(configurable(local_root))
    assert fm.base_dir == (local_root / "executed_scripts").resolve()
    ctx = fm.create_execution_folder("sensor_analysis")
    month = datetime.now().strftime("%Y-%m")
    assert ctx.folder_path.parent == fm.base_dir / month
    assert (
        ctx.folder_path.name.startswith("execution_")
        and "_sensor_analysis_" in ctx.folder_path.name
    )
    assert ctx.attempts_folder == ctx.folder_path / "attempts" and ctx.attempts_folder.is_dir()
    assert ctx.folder_url == (
        f"http://localhost:8099/lab/tree/executed_scripts/{month}/{ctx.folder_path.name}"
    )
    # The seed's 0o777 on these two folders, so a container user can write, plus
    # setgid and the sticky bit; the folders above them are not world-writable.
    assert stat.S_IMODE(ctx.folder_path.stat().st_mode) == 0o3777
    assert stat.S_IMODE(ctx.attempts_folder.stat().st_mode) == 0o3777
    assert stat.S_IMODE(ctx.folder_path.parent.stat().st_mode) == 0o2775


@pytest.mark.parametrize(
    ("services", "port"),
    [
        ({}, 8088),
        ({"osprey": {"jupyter": {"containers": {"read": {"port_host": 9001}}}}}, 9001),
        ({"jupyter": {"containers": {"read": {"port_host": "9002"}}}}, 9002),
    ],
)
def test_jupyter_port_lookup(local_root: Path, services: dict[str, Any], port: int) -> None:
    fm = ps.FileManager({"agent_data_dir": str(local_root), "service_configs": services})
    ctx = fm.create_execution_folder("p")
    assert ctx.folder_url.startswith(f"http://localhost:{port}/lab/tree/executed_scripts/")


def test_notebook_manager_tracks_attempts(local_root: Path) -> None:
    conf = configurable(local_root)
    fm, nm = ps.FileManager(conf), ps.NotebookManager(conf)
    ctx = fm.create_execution_folder("nb")
    ctx.context_file_path = ctx.folder_path / "context.json"
    ctx.context_file_path.write_text(json.dumps({"a": 1}))
    first = nm.create_attempt_notebook(context=ctx, code="x = 1", stage="code_generation")
    second = nm.create_attempt_notebook(
        context=ctx, code="x = 2", stage="execution", error_context="E", silent=True
    )
    assert isinstance(first, Path) and first.parent == ctx.attempts_folder
    assert first.name.startswith("01_code_generation_") and second.name.startswith("02_execution_")
    assert [a.attempt_number for a in ctx.notebook_attempts] == [1, 2]
    assert ctx.notebook_attempts[1].notebook_type is ps.NotebookType.EXECUTION_ATTEMPT
    assert ctx.notebook_attempts[1].notebook_link == (
        f"http://localhost:8099/lab/tree/executed_scripts/"
        f"{ctx.folder_path.parent.name}/{ctx.folder_path.name}/attempts/{second.name}"
    )
    assert ctx.notebook_attempts[1].to_dict()["notebook_path"] == str(second)
    assert ctx.get_next_attempt_number() == 3
    nb = nbformat.read(second, as_version=4)
    assert "## Error Context\n```text\nE\n```" in nb.cells[0].source


def test_final_notebook_and_results(local_root: Path) -> None:
    conf = configurable(local_root)
    fm, nm = ps.FileManager(conf), ps.NotebookManager(conf)
    ctx = fm.create_execution_folder("final")
    results_path = fm.save_results({"mean": 2.5}, ctx.folder_path)
    assert results_path == ctx.folder_path / "results.json"
    assert json.loads(results_path.read_text()) == {"mean": 2.5}
    fig = ctx.folder_path / "figures" / "figure_01.png"
    path = nm.create_final_notebook(
        context=ctx,
        code="print(1)",
        results={"mean": 2.5},
        figure_paths=[fig, "elsewhere/plot.png"],
    )
    assert path == ctx.folder_path / "notebook.ipynb"
    figures = nbformat.read(path, as_version=4).cells[-1].source
    assert "![Figure 1](figures/figure_01.png)" in figures
    assert "![Figure 2](elsewhere/plot.png)" in figures


def test_save_results_writes_where_the_caller_says(
    local_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The folder comes from the calling program, not from generated code: as the
    # original, results.json goes into it, inside the store or not.
    fm = ps.FileManager(configurable(local_root))
    at_root = fm.save_results({"a": 1}, fm.store.root)
    assert at_root == local_root.resolve() / "results.json"
    assert json.loads(at_root.read_text()) == {"a": 1}
    assert stat.S_IMODE(at_root.stat().st_mode) == 0o664  # through the store: its file mode
    outside = tmp_path / "outside"
    outside.mkdir()
    path = fm.save_results({"b": [1, 2]}, outside)
    assert path == outside / "results.json" and isinstance(path, Path)
    assert json.loads(path.read_text()) == {"b": [1, 2]}
    assert not stat.S_IMODE(path.stat().st_mode) & 0o002  # a plain file: never world-writable
    monkeypatch.chdir(outside)  # a relative folder is relative to the working directory
    (outside / "rel").mkdir()
    assert fm.save_results({"c": 3}, Path("rel")) == outside / "rel" / "results.json"
    assert json.loads((outside / "rel" / "results.json").read_text()) == {"c": 3}


def test_save_results_failure_is_a_runtime_error(local_root: Path, tmp_path: Path) -> None:
    fm = ps.FileManager(configurable(local_root))
    ctx = fm.create_execution_folder("gone")
    (ctx.folder_path / "results.json").mkdir()  # a folder where the file should go
    with pytest.raises(RuntimeError) as info:
        fm.save_results({"a": 1}, ctx.folder_path)
    assert isinstance(info.value, ps.ResultsWriteError)
    (tmp_path / "file").write_text("")
    with pytest.raises(RuntimeError) as info:
        fm.save_results({"a": 1}, tmp_path / "file")  # outside the store, under a file
    assert isinstance(info.value, ps.ResultsWriteError) and "file" in str(info.value)
    with pytest.raises(TypeError):
        fm.save_results({"a": 1}, None)  # the original: None / "results.json"


def test_save_results_failure_never_shows_a_password_in_the_url(
    local_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fm = ps.FileManager(configurable(local_root))
    with pytest.raises(ps.ResultsWriteError) as info:
        fm.save_results({"a": 1}, "http://user:SecretPw@127.0.0.1:9/runs")  # nothing listens
    assert "127.0.0.1:9" in str(info.value)
    assert "SecretPw" not in f"{info.value} {caplog.text}"


def test_save_results_on_s3_inside_and_outside_the_store(s3: Any) -> None:
    conf = {"storage_url": f"s3://{BUCKET}/runs", "storage_options": s3_options(s3)}
    fm = ps.FileManager(conf)
    inside = fm.save_results({"a": 1}, fm.store.root)
    assert str(inside) == f"s3://{BUCKET}/runs/results.json"
    # Elsewhere in the bucket: the store's own endpoint and credentials for a plain URL.
    elsewhere = fm.save_results({"b": 2}, f"s3://{BUCKET}/other")
    assert str(elsewhere) == f"s3://{BUCKET}/other/results.json"
    read = ps.open_store(f"s3://{BUCKET}", **s3_options(s3)).backend.read
    assert json.loads(read("runs/results.json")) == {"a": 1}
    assert json.loads(read("other/results.json")) == {"b": 2}
    assert json.loads(elsewhere.read_text()) == {"b": 2}  # the returned UPath opens too


def test_facade_on_other_storage(memory_url: str, local_root: Path) -> None:
    conf = {"agent_data_dir": str(local_root), "storage_url": memory_url, "url_strategy": "file"}
    fm = ps.FileManager(conf)
    ctx = fm.create_execution_folder("mem")
    assert str(ctx.folder_path).startswith("memory://")
    assert not local_root.exists()


@pytest.mark.parametrize(
    ("conf", "error"),
    [
        ("not a dict", TypeError),
        ({"agent_data_dir": 5}, TypeError),
        ({"service_configs": []}, TypeError),
        ({"service_configs": {"framework": {"jupyter": "x"}}}, TypeError),
        (
            {"service_configs": {"jupyter": {"containers": {"read": {"port_host": "http"}}}}},
            ValueError,
        ),
        (
            {"service_configs": {"jupyter": {"containers": {"read": {"port_host": 70000}}}}},
            ValueError,
        ),
        ({"storage_options": "key=1"}, TypeError),
        ({"execution_dir_permissions": "everyone"}, ValueError),
        ({"url_strategy": "ftp"}, ValueError),
        ({"storage_url": 5}, TypeError),
        (
            {"service_configs": {"jupyter": {"containers": {"read": {"port_host": 8088.7}}}}},
            ValueError,
        ),
    ],
)
def test_bad_configurable(
    local_root: Path, conf: Any, error: type[Exception], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(local_root.parent)
    with pytest.raises(error) as info:
        ps.FileManager(conf)
    assert isinstance(info.value, ps.PyExecStoreError)
    assert not (local_root.parent / "_agent_data").exists()


def test_load_context(tmp_path: Path) -> None:
    path = tmp_path / "context.json"
    assert ps.load_context(path) is None
    path.write_text("{not json")
    assert ps.load_context(path) is None
    path.write_text('{"a": [1, 2]}')
    assert ps.load_context(path) == {"a": [1, 2]}
    path.write_text("[1]")
    assert ps.load_context(path) is None


def test_load_context_from_any_storage(memory_url: str) -> None:
    store = ps.open_store(memory_url)
    ctx = store.create_execution("ctx")
    path = store.save_context(ctx, {"from": "memory"})
    assert ps.load_context(str(path)) == {"from": "memory"}
    assert ps.load_context(memory_url + "/missing.json") is None


def test_links_outside_the_store_are_file_uris(local_root: Path, tmp_path: Path) -> None:
    fm = ps.FileManager(configurable(local_root))
    assert fm._create_jupyter_url(tmp_path / "elsewhere") == (tmp_path / "elsewhere").as_uri()
    assert fm._create_jupyter_url(fm.base_dir) == "http://localhost:8099/lab/tree/executed_scripts"


def test_open_store_arguments_inside_storage_options(local_root: Path) -> None:
    conf = {
        "agent_data_dir": str(local_root),
        "storage_options": {"url_strategy": "file", "permissions": "private"},
    }
    ctx = ps.FileManager(conf).create_execution_folder("opts")
    assert ctx.folder_url == ctx.folder_path.as_uri()
    assert stat.S_IMODE(ctx.folder_path.stat().st_mode) == 0o2700
    conf["execution_dir_permissions"] = "group"  # the top-level key wins
    ctx = ps.FileManager(conf).create_execution_folder("opts")
    assert stat.S_IMODE(ctx.folder_path.stat().st_mode) == 0o2775


# -- load_context: any path, any storage ---------------------------------------------------


def test_load_context_of_an_s3_context_file_path(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    ctx = store.create_execution("ctx")
    path = store.save_context(ctx, {"big": 2**70, "text": "ü"})
    # The UPath carries its own storage options (endpoint, credentials): nothing else needed.
    assert ps.load_context(ctx.context_file_path) == {"big": 2**70, "text": "ü"}
    assert ps.load_context(str(path), **s3_options(s3)) == {"big": 2**70, "text": "ü"}
    assert ps.load_context(UPath(path.path, protocol="s3", **s3_options(s3))) == {
        "big": 2**70,
        "text": "ü",
    }
    assert ps.load_context(path.with_name("missing.json")) is None
    store.backend.write(store.key(path), b"{not json")
    assert ps.load_context(path) is None


def test_load_context_failures_are_none_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pyexec_store")
    dead = UPath(
        f"s3://{BUCKET}/runs/context.json",
        endpoint_url="http://127.0.0.1:9",
        key=S3_KEY,
        secret=S3_SECRET,
    )
    assert ps.load_context(dead, deadline=3) is None  # as the original: every failure is None
    assert ps.load_context(None) is None  # a context without a context file
    assert ps.load_context(tmp_path / "context.json") is None
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(messages) == 3
    assert "127.0.0.1:9" in messages[0] and S3_SECRET not in caplog.text
    assert "not found" in messages[2] and str(tmp_path / "context.json") in messages[2]


def test_load_context_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("context.json").write_text('{"here": true}')
    assert ps.load_context() == {"here": True}


# -- typing: the original's callers type-check unchanged -----------------------------------

STORE_USAGE = """
from pathlib import Path
from upath import UPath
import pyexec_store as ps

store = ps.open_store()
ctx = store.create_execution("typed")
nb: UPath = store.create_attempt_notebook(ctx, "x = 1")
local: Path = store.create_attempt_notebook(ctx, "x = 2")
"""


def test_the_originals_call_patterns_pass_mypy_strict(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api", reason="mypy comes with the dev extra")
    store_usage = tmp_path / "store_usage.py"
    store_usage.write_text(STORE_USAGE)
    here = Path(__file__).parent
    out, err, status = api.run(
        [
            "--strict",
            f"--config-file={here.parent / 'pyproject.toml'}",
            f"--cache-dir={tmp_path / 'cache'}",
            "--no-error-summary",
            str(here / "typing_seed_usage.py"),
            str(store_usage),
        ]
    )
    errors = out.strip().splitlines()
    # The store's methods return UPath, which is no pathlib.Path (an S3Path is not
    # one): annotating Path is the one pattern that stays a type error (docs/compat.md).
    assert errors == [
        f"{store_usage}:9: error: Incompatible types in assignment "
        '(expression has type "UPath", variable has type "Path")  [assignment]'
    ], out + err
    assert status == 1


# -- the drop-ins on S3 --------------------------------------------------------------------


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("strategy", [None, "presigned"])
def test_links_a_person_gets_on_s3_open(s3: Any, strategy: str | None) -> None:
    conf = {"storage_url": f"s3://{BUCKET}/runs", "storage_options": s3_options(s3)}
    if strategy:
        conf["url_strategy"] = strategy
    fm, nm = ps.FileManager(conf), ps.NotebookManager(conf)
    ctx = fm.create_execution_folder("s3 links")
    # An S3 prefix is no object: the folder's link is its final notebook's.
    for link in (ctx.folder_url, fm._create_jupyter_url(ctx.folder_path)):
        assert link.startswith(s3.endpoint_url) and "X-Amz-Signature=" in link
        assert urlsplit(link).path.endswith(f"/{ctx.folder_path.name}/notebook.ipynb")
        # Not written yet. (S3 answers 404, or 403 to a signer without s3:ListBucket; moto
        # answers 403 to a missing key's link that carries response-content-* overrides.)
        assert status_of(link) in (403, 404)
    nm.create_attempt_notebook(context=ctx, code="x = 1")
    final = nm.create_final_notebook(context=ctx, code="x = 1")
    assert status_of(ctx.folder_url) == 200
    assert status_of(fm._create_jupyter_url(ctx.folder_path)) == 200
    assert status_of(ctx.notebook_attempts[0].notebook_link) == 200
    with urllib.request.urlopen(fm._create_jupyter_url(final), timeout=10) as response:
        assert nbformat.reads(response.read(), as_version=4).cells[-1].source == "x = 1"


def test_writing_into_an_s3_execution_folder(s3: Any) -> None:
    conf = {"storage_url": f"s3://{BUCKET}/runs", "storage_options": s3_options(s3)}
    ctx = ps.FileManager(conf).create_execution_folder("writes")
    # The builtin needs a local path (universal-pathlib 0.3 refuses the S3 path; 0.2
    # hands it over as a string no local folder holds).
    with pytest.raises((TypeError, FileNotFoundError)):
        open(ctx.folder_path / "notes.txt", "w")  # noqa: SIM115 - the builtin needs a local path
    with (ctx.folder_path / "notes.txt").open("w") as f:  # the UPath's own open works
        f.write("hello")
    store = ps.open_store(f"s3://{BUCKET}/runs", **s3_options(s3))
    assert store.backend.read(f"{store.key(ctx.folder_path)}/notes.txt") == b"hello"
