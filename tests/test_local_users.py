"""Local stores shared with other users: what another user (``nobody``) can and cannot do."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from localusers import as_nobody, needs_root, outcome, shared_folder

import pyexec_store as ps

pytestmark = needs_root


@pytest.fixture
def shared() -> Iterator[Path]:
    with shared_folder() as path:
        yield path


def container_user(folder: str, month: str, scripts: str, root: str) -> dict[str, object]:
    """What a container user of another uid tries in and around an execution folder."""
    ex = Path(folder)
    return {
        "create in execution": outcome(lambda: (ex / "mine.txt").write_text("mine")),
        "create in attempts": outcome(lambda: (ex / "attempts" / "mine.ipynb").write_text("{}")),
        "delete results": outcome(lambda: (ex / "results.json").unlink()),
        "rename results": outcome(lambda: (ex / "results.json").rename(ex / "moved.json")),
        "replace notebook": outcome(lambda: os.replace(ex / "mine.txt", ex / "notebook.ipynb")),
        "delete attempt": outcome(lambda: next((ex / "attempts").glob("01_*.ipynb")).unlink()),
        "create in month": outcome(lambda: (Path(month) / "x").mkdir()),
        "rename execution": outcome(lambda: ex.rename(Path(month) / "stolen")),
        "create in executed_scripts": outcome(lambda: (Path(scripts) / "2000-01").mkdir()),
        "create in root": outcome(lambda: (Path(root) / "x").write_text("x")),
    }


def test_container_policy_lets_others_add_files_but_not_touch_the_executors(
    shared: Path,
) -> None:
    root = shared / "agent_data"
    fm = ps.FileManager({"agent_data_dir": str(root)})  # the container policy by default
    ctx = fm.create_execution_folder("shared")
    fm.store.save_results(ctx, {"a": 1})
    fm.store.create_attempt_notebook(ctx, "print(1)")
    fm.store.create_final_notebook(ctx, "print(1)")
    month = ctx.folder_path.parent
    tried = as_nobody(
        container_user, str(ctx.folder_path), str(month), str(month.parent), str(root)
    )
    assert tried.pop("create in execution") == "ok"
    assert tried.pop("create in attempts") == "ok"
    refused = {what: result[0] for what, result in tried.items() if result != "ok"}
    assert refused == dict.fromkeys(tried, "PermissionError"), tried
    assert fm.store.load_results(ctx) == {"a": 1}
    assert "print(1)" in (ctx.folder_path / "notebook.ipynb").read_text()
    for folder in (month, month.parent, root):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o2775, folder


def test_the_executor_replaces_a_notebook_another_user_planted(shared: Path) -> None:
    fm = ps.FileManager({"agent_data_dir": str(shared / "agent_data")})
    ctx = fm.create_execution_folder("planted")
    final = ctx.folder_path / "notebook.ipynb"
    as_nobody(final.write_text, '{"cells": "import os; os.system(...)"}')
    fm.store.create_final_notebook(ctx, "print('mine')")
    assert final.stat().st_uid == 0 and "os.system" not in final.read_text()
    assert as_nobody(outcome, lambda: final.unlink())[0] == "PermissionError"


def try_writing(store_root: str, own_store: str) -> dict[str, object]:
    """As nobody: write in root's stores, then in a store of its own made read-only."""
    tried: dict[str, object] = {
        "root's store": outcome(lambda: ps.open_store(store_root).create_execution("denied")),
        "root's private store": outcome(
            lambda: ps.open_store(store_root + "-private").list_executions()
        ),
    }
    store = ps.open_store(own_store)
    ctx = store.create_execution("mine")
    store.save_results(ctx, {"v": 1})
    assert ctx.folder_path is not None
    ctx.folder_path.chmod(0o555)
    tried["read-only folder"] = outcome(lambda: store.save_results(ctx, {"v": 2}))
    tried["kept"] = store.load_results(ctx)
    Path(own_store + "-read-only").mkdir(0o555)
    tried["read-only root"] = outcome(
        lambda: ps.open_store(own_store + "-read-only").create_execution("more")
    )
    return tried


def test_permission_denied_and_read_only_folders(shared: Path) -> None:
    root = shared / "store"
    ps.open_store(root).create_execution("executor's")  # group policy: 2775, root's
    ps.open_store(shared / "store-private", permissions="private").create_execution("private")
    home = shared / "nobody"
    home.mkdir()
    os.chown(home, 65534, 65534)
    tried = as_nobody(try_writing, str(root), str(home / "store"))
    assert tried.pop("kept") == {"v": 1}
    for what, (kind, code, message) in tried.items():
        assert kind == "StoragePermissionError" and code == errno.EACCES, what
        assert "Permission denied" in message and str(shared) in message, what
