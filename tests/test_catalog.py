"""The read side (catalog.py): resuming, listing, deleting, and what their errors name."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import BUCKET, s3_options

import pyexec_store as ps

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(16))
META = "execution_metadata.json"


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, memory_url: str, local_root: Path) -> ps.ArtifactStore:
    return ps.open_store(memory_url if request.param == "memory" else local_root)


def key(store: ps.ArtifactStore, ctx: ps.PythonExecutionContext, name: str = "") -> str:
    folder = store.key(ctx.folder_path)
    return f"{folder}/{name}" if name else folder


def write_meta(store: ps.ArtifactStore, ctx: ps.PythonExecutionContext, data: bytes) -> None:
    store.backend.write(key(store, ctx, META), data)


# -- resuming -----------------------------------------------------------------


def test_resumed_attempts_are_the_attempts_written(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("resume")
    store.save_context(ctx, {"k": 1})
    store.create_attempt_notebook(
        ctx, "a", stage="code_generation", notebook_type=ps.NotebookType.CODE_GENERATION_ATTEMPT
    )
    store.create_attempt_notebook(ctx, "b", error_context="Traceback: boom")
    store.create_attempt_notebook(
        ctx, "c", stage="check", notebook_type=ps.NotebookType.PRE_EXECUTION
    )
    store.save_figure(ctx, PNG)
    store.save_figure(ctx, PNG)
    again = store.open_execution(ctx.folder_path)
    assert again.notebook_attempts == ctx.notebook_attempts
    assert [a.notebook_type for a in again.notebook_attempts] == [
        ps.NotebookType.CODE_GENERATION_ATTEMPT,
        ps.NotebookType.EXECUTION_ATTEMPT,
        ps.NotebookType.PRE_EXECUTION,
    ]
    assert [a.error_context for a in again.notebook_attempts] == [None, "Traceback: boom", None]
    assert again.context_file_path == ctx.context_file_path
    assert again.metadata == ctx.metadata and again.metadata["name"] == "resume"
    assert again.figure_count == 2


def test_attempt_notebooks_record_what_a_resumed_execution_reads(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("recorded")
    path = store.create_attempt_notebook(
        ctx, "x", stage="retry", error_context="E", notebook_type=ps.NotebookType.PRE_EXECUTION
    )
    recorded = store.load_notebook(path).metadata["pyexec_store"]
    assert recorded == {
        "attempt_number": 1,
        "stage": "retry",
        "notebook_type": "pre_execution",
        "created_at": ctx.notebook_attempts[0].created_at,
        "error_context": "E",
    }


def test_notebooks_of_the_original_module_are_described_from_their_names(
    store: ps.ArtifactStore,
) -> None:
    # No metadata.pyexec_store (or no JSON object at all): number, stage and time
    # come from the file name, on the execution's day.
    folder = "executed_scripts/2026-01/execution_20260105_101500_old_e26cb7b5"
    store.backend.write(f"{folder}/attempts/01_code_generation_234559.ipynb", b"{}")
    store.backend.write(f"{folder}/attempts/02_execution_000102.ipynb", b"[]")
    ctx = store.open_execution(folder)
    first, second = ctx.notebook_attempts
    assert (first.attempt_number, first.stage, second.stage) == (1, "code_generation", "execution")
    assert first.created_at == datetime(2026, 1, 5, 23, 45, 59).astimezone().isoformat()
    assert second.created_at == datetime(2026, 1, 5, 0, 1, 2).astimezone().isoformat()
    for attempt in ctx.notebook_attempts:
        assert attempt.notebook_type is ps.NotebookType.EXECUTION_ATTEMPT
        assert attempt.error_context is None
    assert first.notebook_path == store.backend.upath(
        f"{folder}/attempts/01_code_generation_234559.ipynb"
    )
    assert first.notebook_link == store.url(f"{folder}/attempts/01_code_generation_234559.ipynb")


def test_attempts_are_ordered_by_number_beyond_99(store: ps.ArtifactStore) -> None:
    folder = "executed_scripts/2026-01/execution_20260105_101500_many_e26cb7b5"
    for name in ("99_execution_101501", "100_execution_101502", "101_execution_101503"):
        store.backend.write(f"{folder}/attempts/{name}.ipynb", b"{}")
    ctx = store.open_execution(folder)
    assert [a.attempt_number for a in ctx.notebook_attempts] == [99, 100, 101]
    assert ctx.get_next_attempt_number() == 102


def test_only_notebooks_directly_in_attempts_are_attempts(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("strays")
    for stray in ("attempts/old/01_execution_101500.ipynb", "figures/01_execution_101500.ipynb"):
        store.backend.write(key(store, ctx, stray), b"{}")
    assert store.open_execution(ctx.folder_path).notebook_attempts == []


def test_metadata_that_is_no_object_resumes_with_none(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("list")
    write_meta(store, ctx, b"[1, 2]")
    assert store.open_execution(ctx.folder_path).metadata == {}
    (row,) = store.list_executions()
    assert (row.status, row.name, row.attempts) == ("unknown", "list", None)


def test_corrupt_metadata_names_its_file(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("corrupt")
    write_meta(store, ctx, b"{not json")
    with pytest.raises(ps.StorageError, match="not valid JSON") as info:
        store.open_execution(ctx.folder_path)
    assert info.value.operation == "parse"
    assert info.value.path == store.backend.uri(key(store, ctx, META))
    assert info.value.endpoint is None and info.value.reason.startswith("not valid JSON: ")


def test_corrupt_results_name_their_file(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("corrupt")
    store.backend.write(key(store, ctx, "results.json"), b'{"a": ')
    with pytest.raises(ps.StorageError) as info:
        store.load_results(ctx)
    assert info.value.path == store.backend.uri(key(store, ctx, "results.json"))


def test_an_empty_execution_folder_is_not_found(store: ps.ArtifactStore) -> None:
    folder = "executed_scripts/2020-01/execution_20200101_000000_x_0123abcd"
    with pytest.raises(ps.StorageNotFoundError, match="nothing stored there") as info:
        store.open_execution(folder)
    assert (info.value.operation, info.value.path) == ("open", store.backend.uri(folder))
    assert (info.value.endpoint, info.value.reason) == (None, "nothing stored there")


def test_an_unknown_id_names_it(store: ps.ArtifactStore) -> None:
    with pytest.raises(ps.StorageNotFoundError) as info:
        store.open_execution("0badc0de")
    assert (info.value.operation, info.value.path) == ("find", "execution 0badc0de")
    assert str(info.value) == "could not find execution 0badc0de: no such execution"


def test_an_invalid_notebook_names_its_file(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("nb")
    store.backend.write(key(store, ctx, "bad.ipynb"), b'{"cells": 3}')
    with pytest.raises(ps.StorageError, match="not a valid notebook") as info:
        store.load_notebook(ctx.folder_path / "bad.ipynb")
    assert info.value.operation == "load"
    assert info.value.path == store.backend.uri(key(store, ctx, "bad.ipynb"))
    assert info.value.endpoint is None and info.value.reason.startswith("not a valid notebook: ")


class Named(os.PathLike[str]):
    """An ``os.PathLike`` whose ``str()`` is not its path."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return self.path


def test_an_execution_is_named_by_any_path_like_and_a_trailing_slash(
    store: ps.ArtifactStore,
) -> None:
    ctx = store.create_execution("named")
    folder = key(store, ctx)
    assert store.open_execution(Named(folder)).folder_path == ctx.folder_path
    assert store.open_execution(folder + "/").folder_path == ctx.folder_path
    assert store.open_execution(str(ctx.folder_path) + "/").folder_path == ctx.folder_path
    # A folder's name, or an id, as a shell completes it.
    assert store.open_execution(ctx.folder_path.name + "/").folder_path == ctx.folder_path
    assert store.open_execution(ctx.metadata["execution_id"] + "/").folder_path == ctx.folder_path
    with pytest.raises(ps.ConfigError, match="is not an execution folder"):
        store.open_execution(ctx.metadata["execution_id"] + "X")  # no id: nothing is stripped


# -- listing ------------------------------------------------------------------


def test_a_listing_row_carries_the_recorded_outcome(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("outcome")
    store.create_attempt_notebook(ctx, "x")
    store.save_figure(ctx, PNG)
    store.save_figure(ctx, PNG)
    store.finish_execution(ctx)
    (row,) = store.list_executions()
    assert (row.status, row.attempts, row.figures, row.error) == ("success", 1, 2, None)
    assert row.created_at == datetime.fromisoformat(ctx.metadata["created_at"])


def test_odd_metadata_values_are_left_out_of_a_row(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("odd")
    write_meta(
        store,
        ctx,
        orjson.dumps(
            {"status": "paused", "attempts": True, "figures": "3", "created_at": "yesterday"}
        ),
    )
    (row,) = store.list_executions()
    assert (row.status, row.attempts, row.figures) == ("unknown", None, None)
    # An unreadable time: the folder's own time (to the second).
    assert row.created_at.replace(microsecond=0) == row.created_at
    assert row.created_at.strftime("%Y%m%d_%H%M%S") in key(store, ctx)


def test_since_is_exact_to_the_microsecond(store: ps.ArtifactStore) -> None:
    # The folder's name has the time to the second, the metadata to the microsecond:
    # an execution created at `since`, or later within the same second, is listed.
    store.create_execution("now")
    (row,) = store.list_executions()
    assert store.list_executions(since=row.created_at) == [row]
    assert store.list_executions(since=row.created_at + timedelta(microseconds=1)) == []


def test_a_listing_since_a_time_skips_older_months(
    store: ps.ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = "executed_scripts/2020-01/execution_20200101_000000_old_0123abcd"
    store.backend.write(f"{old}/{META}", b"{}")
    new = store.create_execution("new")
    listed: list[str] = []
    real = store.backend.listdir
    monkeypatch.setattr(store.backend, "listdir", lambda k: listed.append(k) or real(k))
    assert [r.path for r in store.list_executions(since="1d")] == [new.folder_path]
    assert "executed_scripts/2020-01" not in listed
    assert [r.name for r in store.list_executions()] == ["old", "new"]
    assert "executed_scripts/2020-01" in listed


def test_a_name_is_matched_as_given_unless_it_is_a_pattern(store: ps.ArtifactStore) -> None:
    # Both are stored in the folder Xray_scan: only the name as given matches.
    store.create_execution("Xray scan")
    assert store.list_executions(name="Xray_scan") == []
    assert [r.name for r in store.list_executions(name="Xray scan")] == ["Xray scan"]
    assert [r.name for r in store.list_executions(name="Xray_sc*")] == ["Xray scan"]


def test_a_folder_name_no_key_can_hold_is_not_listed(local_root: Path) -> None:
    store = ps.open_store(local_root)
    good = store.create_execution("good")
    month = good.folder_path.parent
    (month / "execution_20260101_000000_a\\b_0123abcd").mkdir()
    assert [r.path for r in store.list_executions()] == [good.folder_path]


# -- deleting -----------------------------------------------------------------


def test_an_interrupted_delete_keeps_the_metadata_it_marks(
    store: ps.ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = store.create_execution("ünits")
    store.save_results(ctx, {"a": 1})
    real = store.backend.delete
    calls: list[int] = []

    def cut_off_before_the_metadata(keys: Any) -> None:
        calls.append(len(keys))
        if len(calls) == 2:
            raise ps.StorageError("delete", "x", None, "connection lost")
        real(keys)

    monkeypatch.setattr(store.backend, "delete", cut_off_before_the_metadata)
    with pytest.raises(ps.StorageError):
        store.delete_execution(ctx)
    (row,) = store.list_executions()
    assert (row.status, row.name) == ("deleting", "ünits")
    monkeypatch.undo()
    store.delete_execution(row)
    assert store.list_executions() == []


@pytest.mark.parametrize("metadata", [b"{not json", b"[1, 2]"])
def test_an_execution_with_unreadable_metadata_is_deleted(
    store: ps.ArtifactStore, metadata: bytes
) -> None:
    ctx = store.create_execution("unreadable")
    store.save_results(ctx, {"a": 1})
    write_meta(store, ctx, metadata)
    store.delete_execution(ctx.folder_path)
    assert store.backend.find(key(store, ctx)) == []


def test_the_deleting_marker_is_json_on_s3(s3: Any) -> None:
    store = ps.open_store(f"s3://{BUCKET}/del", **s3_options(s3))
    ctx = store.create_execution("marked")
    s3.take_requests()
    store.delete_execution(ctx)
    (put,) = [r for r in s3.take_requests() if r.method == "PUT"]
    assert put.path.endswith(META) and put.headers["content-type"] == "application/json"


def test_a_listing_reads_the_metadata_of_matching_folders_only(
    store: ps.ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A folder's name holds the execution's name and time: a listing by name
    # or time reads no metadata of the folders that cannot match.
    month = "executed_scripts/2026-01"
    early_a = f"{month}/execution_20260105_101500_a_0000000a"
    late_a = f"{month}/execution_20260110_101500_a_0000000b"
    late_b = f"{month}/execution_20260110_101501_b_0000000c"
    for folder in (early_a, late_a, late_b):
        store.backend.write(f"{folder}/{META}", b"{}")
    read: list[str] = []
    real = store.backend.read_many

    def spy(keys: Any) -> Any:
        read.extend(keys)
        return real(keys)

    monkeypatch.setattr(store.backend, "read_many", spy)
    since = datetime(2026, 1, 8).astimezone()
    cases = [
        ({"name": "a", "since": since}, [late_a]),
        ({"since": since}, [late_a, late_b]),
        ({"name": "a"}, [early_a, late_a]),
    ]
    for filters, expected in cases:
        read.clear()
        assert [str(r.path) for r in store.list_executions(**filters)] == [
            str(store.backend.upath(f)) for f in expected
        ]
        assert sorted(read) == sorted(f"{f}/{META}" for f in expected)


def test_since_within_a_second_keeps_every_later_execution(store: ps.ArtifactStore) -> None:
    # Three executions in one second (the folder names tie): the one before
    # `since` is left out, and the listing goes on past it.
    month = "executed_scripts/2026-01"
    second = datetime(2026, 1, 5, 10, 15, 0).astimezone()
    for name, micro in (("a", 200_000), ("b", 700_000), ("c", 900_000)):
        folder = f"{month}/execution_20260105_101500_{name}_0000000{name}"
        created = (second + timedelta(microseconds=micro)).isoformat()
        store.backend.write(f"{folder}/{META}", orjson.dumps({"created_at": created}))
    rows = store.list_executions(since=second + timedelta(microseconds=500_000))
    assert [r.name for r in rows] == ["b", "c"]


def test_an_original_execution_is_listed_by_the_name_its_folder_holds(
    store: ps.ArtifactStore,
) -> None:
    # The original module kept names unsanitised, and wrote no metadata.
    folder = "executed_scripts/2026-01/execution_20260105_101500_data analysis_e26cb7b5"
    store.backend.write(f"{folder}/context.json", b"{}")
    assert [r.execution_id for r in store.list_executions(name="data analysis")] == ["e26cb7b5"]
    assert store.list_executions(name="data_analysis") == []


def test_a_resumed_attempt_keeps_its_stage_and_error_context_as_recorded(
    store: ps.ArtifactStore,
) -> None:
    ctx = store.create_execution("stages")
    path = store.create_attempt_notebook(ctx, "x", stage="code review!", error_context="E")
    assert path.name.startswith("01_code_review__")  # the file name holds its safe form
    odd = store.create_attempt_notebook(ctx, "x", stage="s", error_context="E")
    notebook = orjson.loads(store.backend.read(store.key(odd)))
    notebook["metadata"]["pyexec_store"]["error_context"] = 5  # tampered: no text
    store.backend.write(store.key(odd), orjson.dumps(notebook))
    first, second = store.open_execution(ctx.folder_path).notebook_attempts
    assert (first.stage, first.error_context) == ("code review!", "E")
    assert (second.stage, second.error_context) == ("s", None)


def test_deleting_an_archived_execution_removes_its_manifest(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("archived")
    folder = key(store, ctx)
    store.backend.write(f"{folder}/archive_manifest.json", b"{}")
    removed = store.delete_execution(ctx)
    assert sorted(removed) == ["archive_manifest.json", META]
    assert store.backend.find(folder) == []
