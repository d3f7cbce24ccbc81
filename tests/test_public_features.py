"""Public behaviours that had no test of their own."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import BUCKET, s3_options

import pyexec_store as ps

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 16
CONTENT_TYPES = {
    ".ipynb": "application/x-ipynb+json",
    ".json": "application/json",
    ".png": "image/png",
}


def test_every_object_on_s3_has_its_content_type(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/ct", **s3_options(s3))
    ctx = store.create_execution("types")
    store.save_context(ctx, {"k": 1})
    store.create_attempt_notebook(ctx, "x")
    store.save_results(ctx, {"r": 1})
    store.save_figure(ctx, PNG)
    store.create_final_notebook(ctx, "x")
    store.finish_execution(ctx)
    puts = [r for r in s3.take_requests() if r.method == "PUT"]
    names = sorted(r.path.rsplit("/", 1)[1] for r in puts)
    assert len(names) == 7 and any(n.startswith("01_execution_") for n in names)
    for request in puts:
        suffix = "." + request.path.rsplit(".", 1)[1]
        assert request.headers["content-type"] == CONTENT_TYPES[suffix], request.path


def test_a_context_pickles_and_keeps_working(memory_url: str) -> None:
    store = ps.open_store(memory_url)
    ctx = store.create_execution("pickled")
    store.create_attempt_notebook(ctx, "a")
    store.save_figure(ctx, PNG)
    again = pickle.loads(pickle.dumps(ctx))
    assert again == ctx and again.folder_key == ctx.folder_key
    assert store.create_attempt_notebook(again, "b").name.startswith("02_")
    assert store.save_figure(again, PNG).name == "figure_02.png"


def test_stray_folders_and_corrupt_metadata(memory_url: str) -> None:
    store = ps.open_store(memory_url)
    good = store.create_execution("good")
    broken = store.create_execution("broken")
    store.backend.write(store.key(broken.folder_path) + "/execution_metadata.json", b"{not json")
    store.backend.write("executed_scripts/2026-01/notes/readme.txt", b"not an execution")
    store.backend.write("executed_scripts/misc/readme.txt", b"not a month")
    rows = {r.name: r.status for r in store.list_executions()}
    assert rows == {"good": "running", "broken": "unknown"}
    assert store.list_executions(status="unknown")[0].path == broken.folder_path
    assert good.folder_path in [r.path for r in store.list_executions(status="running")]


def test_a_corrupt_results_file_is_a_storage_error(memory_url: str) -> None:
    store = ps.open_store(memory_url)
    ctx = store.create_execution("corrupt")
    store.backend.write(store.key(ctx.folder_path) + "/results.json", b'{"a": ')
    with pytest.raises(ps.StorageError, match="not valid JSON"):
        store.load_results(ctx)


@pytest.mark.parametrize("deadline", [0, -1, "5", True])
def test_deadline_is_checked_at_open(s3: Any, deadline: Any) -> None:
    with pytest.raises((ValueError, TypeError), match="deadline"):
        ps.open_store(f"s3://{BUCKET}/d", deadline=deadline, **s3_options(s3))


def test_the_writer_is_recorded_for_every_writer(local_root: Path) -> None:
    fm = ps.FileManager({"agent_data_dir": str(local_root)})
    ctx = fm.create_execution_folder("dropin")
    meta = orjson.loads((ctx.folder_path / "execution_metadata.json").read_bytes())
    assert set(meta["writer"]) >= {"host", "pid"}
