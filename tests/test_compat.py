"""The seed-compatible FileManager, NotebookManager and helpers."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest

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


def test_save_results_failure_is_a_runtime_error(local_root: Path) -> None:
    fm = ps.FileManager(configurable(local_root))
    outside = local_root.parent / "outside"
    outside.mkdir()
    with pytest.raises(RuntimeError, match="not inside the store root"):
        fm.save_results({"a": 1}, outside)  # the original wrote anywhere; never outside the root
    assert list(outside.iterdir()) == []
    ctx = fm.create_execution_folder("gone")
    (ctx.folder_path / "results.json").mkdir()  # a folder where the file should go
    with pytest.raises(RuntimeError) as info:
        fm.save_results({"a": 1}, ctx.folder_path)
    assert isinstance(info.value, ps.PyExecStoreError)


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
