"""Store behaviours a new user meets first: names, references, times, configuration."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import orjson
import pandas as pd
import pytest

import pyexec_store as ps
from pyexec_store import layout

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))


@pytest.fixture
def store(memory_url: str) -> ps.ArtifactStore:
    return ps.open_store(memory_url)


def meta_of(store: ps.ArtifactStore, ctx: ps.PythonExecutionContext) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(
        store.backend.read(store.key(ctx.folder_path) + "/execution_metadata.json")
    )
    return data


@pytest.mark.parametrize(
    "results", [np.array([1, 2]), pd.DataFrame({"a": [1, 2]}), np.float64(0.5), {"k": 1}]
)
def test_final_notebook_takes_any_result(store: ps.ArtifactStore, results: Any) -> None:
    ctx = store.create_execution("r")
    nb = store.load_notebook(store.create_final_notebook(ctx, "x = 1", results=results))
    assert any("results.json" in c.source for c in nb.cells)


@pytest.mark.parametrize("results", [None, {}, []])
def test_final_notebook_without_results_has_no_results_section(
    store: ps.ArtifactStore, results: Any
) -> None:
    ctx = store.create_execution("r")
    nb = store.load_notebook(store.create_final_notebook(ctx, "x = 1", results=results))
    assert not any("results.json" in c.source for c in nb.cells)


def test_names_are_kept_as_given_and_folded_to_ascii(store: ps.ArtifactStore) -> None:
    units = store.create_execution("ünits")
    japanese = store.create_execution("日本語")
    assert units.folder_path.name.split("_")[3] == "units"
    assert meta_of(store, units)["name"] == "ünits"
    assert meta_of(store, japanese)["name"] == "日本語"
    assert [r.name for r in store.list_executions(name="日本語")] == ["日本語"]
    assert [r.name for r in store.list_executions(name="ü*")] == ["ünits"]


def test_original_executions_are_listed_and_opened(store: ps.ArtifactStore) -> None:
    # The original module wrote unsanitised names and no metadata file.
    folder = "executed_scripts/2026-01/execution_20260105_101500_data analysis_e26cb7b5"
    store.backend.write(f"{folder}/context.json", b'{"task": "old"}')
    store.backend.write(f"{folder}/attempts/01_execution_101501.ipynb", b"{}")
    (row,) = store.list_executions()
    assert (row.name, row.execution_id, row.status) == ("data analysis", "e26cb7b5", "unknown")
    ctx = store.open_execution(row.path)
    assert ctx.metadata == {} and store.load_context(ctx) == {"task": "old"}
    (attempt,) = ctx.notebook_attempts
    assert attempt.created_at == datetime(2026, 1, 5, 10, 15, 1).astimezone().isoformat()
    assert store.open_execution("e26cb7b5").folder_path == ctx.folder_path


def test_open_execution_by_id_folder_name_path_or_row(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("ref")
    execution_id = meta_of(store, ctx)["execution_id"]
    folder = ctx.folder_path
    (row,) = store.list_executions()
    for ref in (execution_id, folder.name, folder, str(folder), store.key(folder), row):
        assert store.open_execution(ref).folder_path == folder
    with pytest.raises(ps.StorageNotFoundError, match="no such execution"):
        store.open_execution("0badc0de")


def test_an_ambiguous_id_is_an_error_naming_the_folders(store: ps.ArtifactStore) -> None:
    for month, stamp in (("2026-01", "20260101_000000"), ("2026-02", "20260201_000000")):
        store.backend.write(
            f"executed_scripts/{month}/execution_{stamp}_x_abcdef12/execution_metadata.json",
            b"{}",
        )
    with pytest.raises(ps.ConfigError, match="ambiguous") as info:
        store.open_execution("abcdef12")
    assert "2026-01" in str(info.value) and "2026-02" in str(info.value)


def test_unknown_status_is_a_value_error_listing_the_valid_ones(store: ps.ArtifactStore) -> None:
    with pytest.raises(ValueError, match="sucess") as info:
        store.list_executions(status="sucess")
    for valid in ("running", "success", "failed", "interrupted", "unknown", "deleting"):
        assert valid in str(info.value)


def test_times_are_timezone_aware_and_rows_carry_the_outcome(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("t")
    store.create_attempt_notebook(ctx, "1/0")
    store.finish_execution(ctx, success=False, error="ZeroDivisionError")
    meta = meta_of(store, ctx)
    for key in ("created_at", "finished_at"):
        assert datetime.fromisoformat(meta[key]).utcoffset() is not None
    assert datetime.fromisoformat(ctx.notebook_attempts[0].created_at).utcoffset() is not None
    (row,) = store.list_executions()
    assert row.created_at.utcoffset() is not None and row.finished_at is not None
    assert row.finished_at >= row.created_at
    assert (row.status, row.attempts, row.error) == ("failed", 1, "ZeroDivisionError")
    assert store.list_executions(since=timedelta(minutes=5)) == [row]
    assert store.list_executions(since=datetime.now() + timedelta(minutes=5)) == []


def test_figures_from_str_paths(store: ps.ArtifactStore, tmp_path: Path) -> None:
    ctx = store.create_execution("f")
    png = tmp_path / "plot.png"
    png.write_bytes(PNG)
    path = store.save_figure(ctx, str(png))
    assert store.backend.read(store.key(path)) == PNG


def test_load_notebook_validates(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("nb")
    nb = store.load_notebook(store.create_attempt_notebook(ctx, "print(1)"))
    assert isinstance(nb, nbformat.NotebookNode) and nb.cells[-1].source == "print(1)"
    store.backend.write(store.key(ctx.folder_path) + "/bad.ipynb", b'{"cells": 3}')
    with pytest.raises(ps.StorageError, match="not a valid notebook"):
        store.load_notebook(ctx.folder_path / "bad.ipynb")


def test_delete_execution_removes_everything(store: ps.ArtifactStore) -> None:
    keep = store.create_execution("keep")
    gone = store.create_execution("gone")
    store.save_results(gone, {"a": 1})
    store.save_figure(gone, PNG)
    store.delete_execution(gone)
    assert store.backend.find(store.key(gone.folder_path)) == []
    assert [r.path for r in store.list_executions()] == [keep.folder_path]


def test_an_interrupted_delete_lists_as_deleting_and_can_be_finished(
    store: ps.ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = store.create_execution("half")
    store.save_results(ctx, {"a": 1})

    def cut_off(keys: Any) -> None:
        raise ps.StorageError("delete", "x", None, "connection lost")

    with monkeypatch.context() as m:
        m.setattr(store.backend, "delete", cut_off)
        with pytest.raises(ps.StorageError):
            store.delete_execution(ctx)
    assert [r.status for r in store.list_executions()] == ["deleting"]
    store.delete_execution(ctx.folder_path)
    assert store.list_executions() == []


def test_stage_and_texts_cannot_hide_the_header(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("x")
    store.save_context(ctx, {})
    evil_stage = "execution\n\n<!--"
    evil_error = "boom\n```\n<img src=https://evil.invalid/x.png>\n```"
    path = store.create_attempt_notebook(
        ctx, "x", stage=evil_stage, error_context=evil_error, approval_context="ok"
    )
    header = store.load_notebook(path).cells[0].source
    stage_line = next(line for line in header.splitlines() if line.startswith("**Stage:**"))
    assert re.search(r"(?<!\\)[<>!]", stage_line) is None  # escaped: shown, never markup
    # The error sits inside a fence longer than any backtick run it holds.
    fence = "````"
    assert f"## Error Context\n{fence}text\n{evil_error}\n{fence}" in header
    assert header.index("ok") < header.index("## Error Context")
    assert ctx.notebook_attempts[0].stage == evil_stage  # kept as given


def test_hostile_figure_paths_stay_plain_links(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("fig")
    nb = store.load_notebook(
        store.create_final_notebook(ctx, "x", figure_paths=["figures/a) <img src=x>.png"])
    )
    figures = nb.cells[-1].source
    assert "![Figure 1](figures/a%29%20%3Cimg%20src%3Dx%3E.png)" in figures


def test_options_from_the_environment(memory_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYEXEC_STORE_URL_STRATEGY", "jupyter")
    key = "executed_scripts/2026-01/x.ipynb"
    expected = "/lab/tree/executed_scripts/2026-01/x.ipynb"
    assert ps.open_store(memory_url).url(key) == "http://localhost:8088" + expected
    monkeypatch.setenv("PYEXEC_STORE_JUPYTER_BASE_URL", "http://lab:9999")
    assert ps.open_store(memory_url).url(key) == "http://lab:9999" + expected
    # Arguments win over the environment.
    assert (
        ps.open_store(memory_url, jupyter_base_url="http://a:1").url(key) == "http://a:1" + expected
    )
    assert ps.open_store(memory_url, url_strategy="file").url(key).startswith("memory://")


def test_local_options_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYEXEC_STORE_URL", str(tmp_path / "env_store"))
    monkeypatch.setenv("PYEXEC_STORE_PERMISSIONS", "private")
    monkeypatch.setenv("PYEXEC_STORE_URL_EXPIRES", "60")  # a presigned setting: unused here
    ctx = ps.open_store().create_execution("p")
    assert ctx.folder_path.stat().st_mode & 0o7777 == 0o2700


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PYEXEC_STORE_URL_EXPIRES", "soon"),
        ("PYEXEC_STORE_JUPYTER_BASE_URL", "localhost:8088"),
        ("PYEXEC_STORE_URL_STRATEGY", "carrier-pigeon"),
        ("PYEXEC_STORE_PERMISSIONS", "everyone"),
    ],
)
def test_a_bad_environment_value_names_its_variable(
    local_root: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    if variable == "PYEXEC_STORE_JUPYTER_BASE_URL":
        monkeypatch.setenv("PYEXEC_STORE_URL_STRATEGY", "jupyter")
    with pytest.raises(ValueError, match=variable):
        ps.open_store(local_root)


def test_warnings_of_save_results_are_logged(
    store: ps.ArtifactStore, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = store.create_execution("w")
    with caplog.at_level(logging.WARNING, logger="pyexec_store"):
        store.save_results(ctx, {"bad": float("nan")})
    assert any("results.json" in r.getMessage() and "bad" in r.getMessage() for r in caplog.records)


def test_top_level_exports() -> None:
    for name in ("register_backend", "register_url_strategy", "open_store"):
        assert name in ps.__all__ and callable(getattr(ps, name))


def test_layout_folds_names() -> None:
    assert layout.sanitize_name("ünits") == "units"
    assert layout.sanitize_name("Åström café") == "Astrom_cafe"


def test_repr_names_the_root_and_the_link_strategy(store: ps.ArtifactStore) -> None:
    assert repr(store) == f"ArtifactStore({store.backend.location!r}, url_strategy=FileUrls)"


def test_metadata_updates_accumulate(
    store: ps.ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = store.create_execution("beat")
    synced: list[str] = []
    monkeypatch.setattr(store.backend, "sync", synced.append)
    store.heartbeat(ctx, 5)
    path = store.finish_execution(ctx, details={"exit": 0})
    assert path == ctx.folder_path / "execution_metadata.json"
    assert synced == [store.key(ctx.folder_path)]  # the execution's folder is made durable
    meta = meta_of(store, ctx)
    assert meta == ctx.metadata
    assert (meta["status"], meta["heartbeat_interval"], meta["exit"]) == ("success", 5, 0)
    store.heartbeat(ctx, 7)
    assert meta_of(store, ctx)["status"] == "success"


def test_save_results_indents_by_two_unless_told(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("r")
    key = store.key(store.save_results(ctx, {"a": [1]}))
    assert store.backend.read(key) == b'{\n  "a": [\n    1\n  ]\n}\n'
    store.save_results(ctx, {"a": [1]}, indent=None)
    assert store.backend.read(key) == b'{"a":[1]}\n'
    store.save_results(ctx, ps.encode_results({"b": 2}, indent=None))
    assert store.backend.read(key) == b'{"b":2}\n'


def test_a_missing_context_is_logged_only_when_missing(
    store: ps.ArtifactStore, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = store.create_execution("c")
    with caplog.at_level(logging.WARNING, logger="pyexec_store"):
        store.create_attempt_notebook(ctx, "x")
    assert [r.getMessage() for r in caplog.records] == [
        f"Context file not found when creating notebook: {store.key(ctx.folder_path)}"
    ]
    caplog.clear()
    store.save_context(ctx, {})
    with caplog.at_level(logging.WARNING, logger="pyexec_store"):
        store.create_attempt_notebook(ctx, "x")
    assert caplog.records == []


def test_a_context_that_is_no_object_is_a_storage_error(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("c")
    store.backend.write(store.key(ctx.folder_path) + "/context.json", b"[1]")
    with pytest.raises(ps.StorageError) as info:
        store.load_context(ctx)
    assert (info.value.operation, info.value.path) == ("load", "context.json")
    assert str(info.value) == "could not load context.json: it does not hold a JSON object"
