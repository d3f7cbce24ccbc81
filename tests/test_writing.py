"""The write path's pieces (writing.py): claims, new metadata, attempt notebooks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest

import pyexec_store as ps
from pyexec_store import layout
from pyexec_store.backends import WriteItem


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, memory_url: str, local_root: Path) -> ps.ArtifactStore:
    return ps.open_store(memory_url if request.param == "memory" else local_root)


def test_new_metadata_is_indented_json_naming_the_writer_and_version(
    store: ps.ArtifactStore,
) -> None:
    ctx = store.create_execution("meta")
    data = store.backend.read(store.key(ctx.folder_path) + "/execution_metadata.json")
    assert data.startswith(b'{\n  "')
    meta = orjson.loads(data)
    assert set(meta) == {
        "execution_id",
        "name",
        "created_at",
        "status",
        "finished_at",
        "writer",
        "pyexec_store_version",
    }
    assert (meta["status"], meta["finished_at"]) == ("running", None)
    assert meta["pyexec_store_version"] == ps.__version__


def test_two_resumed_writers_never_overwrite_an_attempt(
    store: ps.ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Same second, same next number: the second writer's claim finds the name
    # taken and takes the next number instead of replacing the notebook.
    now = layout.local_now()
    monkeypatch.setattr(layout, "local_now", lambda: now)
    ctx = store.create_execution("two")
    first = store.open_execution(ctx.folder_path)
    second = store.open_execution(ctx.folder_path)
    a = store.create_attempt_notebook(first, "print('first')")
    b = store.create_attempt_notebook(second, "print('second')")
    assert a.name.startswith("01_") and b.name.startswith("02_")
    assert store.load_notebook(a).cells[-1].source == "print('first')"
    assert store.load_notebook(b).cells[-1].source == "print('second')"
    assert second.notebook_attempts[0].attempt_number == 2


def test_a_claim_gives_up_when_every_name_is_taken(
    store: ps.ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = store.create_execution("full")
    monkeypatch.setattr(store.backend, "endpoint", lambda: "https://storage.example")
    tried: list[str] = []

    def always_taken(items: Sequence[WriteItem]) -> list[ps.StorageError | None]:
        tried.extend(item.path for item in items)
        return [ps.StorageExistsError("write", item.path) for item in items]

    monkeypatch.setattr(store.backend, "write_many", always_taken)
    with pytest.raises(ps.StorageExistsError) as info:
        store.save_figure(ctx, b"\x89PNG\r\n\x1a\n")
    assert len(tried) == 100 and len(set(tried)) == 100  # a fresh name at each try
    error = info.value
    assert (error.operation, error.path, error.reason) == ("claim", tried[-1], "no free name")
    assert error.endpoint == "https://storage.example"
    assert str(error) == f"could not claim {tried[-1]} at https://storage.example: no free name"


def test_a_matplotlib_figure_is_saved_as_png_whatever_the_default_format(
    store: ps.ArtifactStore,
) -> None:
    import matplotlib
    from matplotlib.figure import Figure

    figure = Figure()
    figure.add_subplot().plot([1, 2, 3])
    ctx = store.create_execution("svg by default")
    with matplotlib.rc_context({"savefig.format": "svg"}):  # a user's matplotlibrc
        path = store.save_figure(ctx, figure)
    assert store.backend.read(store.key(path)).startswith(b"\x89PNG\r\n\x1a\n")
