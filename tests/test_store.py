"""Store behaviours a new user meets first: names, references, times, configuration."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
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
from pyexec_store.urls import UrlStrategy

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
    assert str(info.value) == (
        "execution id abcdef12 is ambiguous: "
        "executed_scripts/2026-01/execution_20260101_000000_x_abcdef12, "
        "executed_scripts/2026-02/execution_20260201_000000_x_abcdef12; name the folder"
    )


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


# -- contexts built by hand, links to pages, bad arguments ------------------------

Call = Callable[[ps.ArtifactStore, ps.PythonExecutionContext], Any]
HAND_WRITES: dict[str, tuple[Call, str]] = {
    "context": (lambda s, c: s.save_context(c, {"a": 1}), "context.json"),
    "results": (lambda s, c: s.save_results(c, {"a": 1}), "results.json"),
    "figure": (lambda s, c: s.save_figure(c, PNG), "figures/figure_01.png"),
    "attempt": (lambda s, c: s.create_attempt_notebook(c, "x = 1", stage="s"), "attempts/01_s_"),
    "final": (lambda s, c: s.create_final_notebook(c, "x = 1"), "notebook.ipynb"),
    "page": (lambda s, c: s.render_page(c), "execution.html"),
}


@pytest.mark.parametrize("write", HAND_WRITES)
def test_a_context_built_by_hand_writes_into_its_folder(
    store: ps.ArtifactStore, write: str
) -> None:
    # A context that knows only its folder's path (as the original module's
    # contexts did): the store finds the folder's key from the path.
    folder = store.key(store.create_execution("by hand").folder_path)
    call, expected = HAND_WRITES[write]
    call(store, ps.PythonExecutionContext(folder_path=store.backend.upath(folder)))
    assert any(f.startswith(expected) for f in store.backend.find(folder))


def test_a_context_built_by_hand_updates_and_deletes_its_execution(
    store: ps.ArtifactStore,
) -> None:
    folder = store.key(store.create_execution("by hand").folder_path)
    meta_key = f"{folder}/execution_metadata.json"

    def by_hand() -> ps.PythonExecutionContext:
        return ps.PythonExecutionContext(folder_path=store.backend.upath(folder))

    store.heartbeat(by_hand(), 5)
    assert orjson.loads(store.backend.read(meta_key))["heartbeat_interval"] == 5
    store.finish_execution(by_hand(), success=False, error="E")
    meta = orjson.loads(store.backend.read(meta_key))
    # What the claim recorded is kept: the metadata was read back from the store.
    assert (meta["name"], meta["status"], meta["error"]) == ("by hand", "failed", "E")
    store.delete_execution(by_hand())
    assert store.backend.find(folder) == []


class FileLinks(UrlStrategy):
    """Links that open files but not folders (like presigned links), without S3."""

    def url(self, key: str, *, expires: int | None = None) -> str:
        return f"https://files.example/{key}"

    def folder_url(self, key: str) -> str:
        return f"store://{key}"


def test_an_execution_links_to_its_page_once_it_has_one(memory_url: str) -> None:
    ps.register_url_strategy("file-links", FileLinks, replace=True)
    store = ps.open_store(memory_url, url_strategy="file-links")

    def link(ctx: ps.PythonExecutionContext, name: str) -> str:
        return f"https://files.example/{store.key(ctx.folder_path)}/{name}"

    plain, paged = store.create_execution("plain"), store.create_execution("paged")
    assert paged.folder_url == link(paged, "notebook.ipynb")  # no page yet
    store.finish_execution(plain, render=False)
    store.finish_execution(paged, render=True)
    assert plain.folder_url == link(plain, "notebook.ipynb")
    assert paged.folder_url == link(paged, "execution.html")
    # A resumed context and a listing row link the same way.
    for ctx, name in ((plain, "notebook.ipynb"), (paged, "execution.html")):
        assert store.open_execution(ctx.folder_path).folder_url == link(ctx, name)
    assert {r.name: r.url for r in store.list_executions()} == {
        "plain": link(plain, "notebook.ipynb"),
        "paged": link(paged, "execution.html"),
    }
    store.render_page(plain)  # a page made later links the same way
    assert plain.folder_url == link(plain, "execution.html")
    assert store.open_execution(plain.folder_path).folder_url == link(plain, "execution.html")


def test_a_page_of_an_original_execution_writes_no_metadata(store: ps.ArtifactStore) -> None:
    folder = "executed_scripts/2026-01/execution_20260105_101500_old_e26cb7b5"
    store.backend.write(f"{folder}/context.json", b'{"task": "old"}')
    page = store.render_page(folder)
    assert store.key(page) == f"{folder}/execution.html"
    assert sorted(store.backend.find(folder)) == ["context.json", "execution.html"]


def test_rendering_a_page_again_writes_the_page_only(
    store: ps.ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = store.create_execution("twice")
    store.render_page(ctx)
    assert meta_of(store, ctx)["page"] == "execution.html"
    written: list[str] = []
    real = store.backend.write_many

    def spy(items: Any) -> Any:
        written.extend(item.path for item in items)
        return real(items)

    monkeypatch.setattr(store.backend, "write_many", spy)
    store.render_page(ctx)  # the metadata records the page already
    assert written == [f"{store.key(ctx.folder_path)}/execution.html"]


TYPE, VALUE = ps.ConfigTypeError, ps.ConfigError
BAD_ARGUMENTS: list[tuple[Call, type[Exception], str]] = [
    (lambda s, c: s.create_execution(7), TYPE, "a name must be a str, not int"),
    (lambda s, c: s.save_context(c, [1]), TYPE, "context data must be a mapping, not list"),
    (lambda s, c: s.create_attempt_notebook(c, b"x"), TYPE, "code must be a str, not bytes"),
    (
        lambda s, c: s.create_attempt_notebook(c, "x", stage=3),
        TYPE,
        "stage must be a str, not int",
    ),
    (lambda s, c: s.create_final_notebook(c, 1.5), TYPE, "code must be a str, not float"),
    (
        lambda s, c: s.save_figure(c, 1.5),
        TYPE,
        "a figure must be PNG bytes, a matplotlib figure or the path of a PNG file "
        "(str or os.PathLike), not float",
    ),
    (
        lambda s, c: s.save_figure(c, b"GIF89a"),
        VALUE,
        "figure data is not a PNG image (no PNG signature)",
    ),
    (
        lambda s, c: s.list_executions(since="yesterday"),
        VALUE,
        "'yesterday': expected an age like '30m', '12h', '7d' or '2w', or a date like '2026-11-01'",
    ),
    (
        lambda s, c: s.list_executions(since=[7]),
        TYPE,
        "since must be a datetime, timedelta or str, not list",
    ),
    (lambda s, c: s.list_executions(name=7), TYPE, "name must be a str, not int"),
    (
        lambda s, c: s.list_executions(status="sucess"),
        VALUE,
        "unknown status 'sucess'; choose one of running, success, failed, interrupted, "
        "unknown, deleting",
    ),
    (
        lambda s, c: s.open_execution(7),
        TYPE,
        "an execution is named by id, folder name or path, not int",
    ),
    (lambda s, c: s.open_execution("notes/x"), VALUE, "'notes/x' is not an execution folder"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_ARGUMENTS)
def test_a_bad_argument_is_refused_naming_it_and_what_was_given(
    store: ps.ArtifactStore, call: Call, error: type[Exception], message: str
) -> None:
    ctx = store.create_execution("bad")
    with pytest.raises(error) as info:
        call(store, ctx)
    assert str(info.value) == message
    # Refused before any write.
    assert sorted(store.backend.find(store.key(ctx.folder_path))) == ["execution_metadata.json"]


def test_writes_are_logged_with_their_keys(
    store: ps.ArtifactStore, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="pyexec_store"):
        ctx = store.create_execution("logged")
        store.save_results(ctx, {"bad": float("nan")})
        store.create_final_notebook(ctx, "x = 1")
    folder = store.key(ctx.folder_path)
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == f"Created execution folder: {folder}"
    assert messages[1].startswith("results.json: ") and "bad" in messages[1]
    assert messages[2:] == [f"Created final notebook: {folder}/notebook.ipynb"]


def test_an_execution_without_a_name_gets_the_default_one(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution(None)  # type: ignore[arg-type]
    assert meta_of(store, ctx)["name"] == "python_executor"
    assert "_python_executor_" in ctx.folder_path.name


def test_a_store_built_directly_renders_pages_only_when_asked(store: ps.ArtifactStore) -> None:
    direct = ps.ArtifactStore(store.backend, store.urls)
    ctx = direct.create_execution("direct")
    direct.finish_execution(ctx)
    assert sorted(store.backend.find(store.key(ctx.folder_path))) == ["execution_metadata.json"]
    assert "page" not in meta_of(store, ctx)
    rendering = ps.ArtifactStore(store.backend, store.urls, render_pages=True)
    ctx = rendering.create_execution("direct, rendering")
    rendering.finish_execution(ctx)
    assert meta_of(store, ctx)["page"] == "execution.html"
