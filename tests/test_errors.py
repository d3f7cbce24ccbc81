"""Bad input: clear errors of the right type, raised before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

import pyexec_store as ps


def test_error_tree() -> None:
    assert issubclass(ps.StorageError, ps.PyExecStoreError) and issubclass(ps.StorageError, OSError)
    assert issubclass(ps.StorageNotFoundError, FileNotFoundError)
    assert issubclass(ps.StorageExistsError, FileExistsError)
    assert issubclass(ps.StoragePermissionError, PermissionError)
    assert issubclass(ps.ConfigError, ValueError) and issubclass(ps.ConfigTypeError, TypeError)
    assert issubclass(ps.MissingDependencyError, ImportError)
    assert issubclass(ps.ResultsWriteError, RuntimeError)


def test_unknown_protocol_lists_the_known_ones() -> None:
    with pytest.raises(ps.UnknownProtocolError) as info:
        ps.open_store("nosuchproto://x")
    for known in ("file", "memory", "s3"):
        assert known in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"url_expires": 0}, ValueError),
        ({"url_expires": 7 * 24 * 3600 + 1}, ValueError),
        ({"url_expires": "3600"}, TypeError),
        ({"url_expires": True}, TypeError),
        ({"url_strategy": "carrier-pigeon"}, ValueError),
        ({"url_strategy": 3}, TypeError),
        ({"url_strategy": "presigned"}, ValueError),  # a memory store has nothing to sign
    ],
)
def test_bad_store_arguments(memory_url: str, kwargs: dict[str, object], error: type) -> None:
    with pytest.raises(error) as info:
        ps.open_store(memory_url, **kwargs)
    assert isinstance(info.value, ps.PyExecStoreError)


def test_bad_url_type() -> None:
    with pytest.raises(ps.ConfigTypeError):
        ps.open_store(42)  # type: ignore[arg-type]


def test_default_store_is_local_agent_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = ps.open_store()
    assert Path(store.backend.root) == tmp_path / "_agent_data"
    monkeypatch.setenv("PYEXEC_STORE_URL", "memory://from-env")
    assert ps.open_store().backend.location == "memory:///from-env"
    assert not (tmp_path / "_agent_data").exists()  # opening writes nothing


def test_bad_code_and_names(memory_url: str) -> None:
    store = ps.open_store(memory_url)
    with pytest.raises(ps.ConfigTypeError):
        store.create_execution(123)  # type: ignore[arg-type]
    ctx = store.create_execution("ok")
    with pytest.raises(ps.ConfigTypeError):
        store.create_attempt_notebook(ctx, None)  # type: ignore[arg-type]
    with pytest.raises(ps.ConfigTypeError):
        store.save_context(ctx, ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(ps.ConfigError):
        store.list_executions(since="yesterday")


def test_open_execution_outside_the_root(memory_url: str, tmp_path: Path) -> None:
    store = ps.open_store(memory_url)
    with pytest.raises(ps.PathEscapeError):
        store.open_execution(
            "memory://elsewhere/executed_scripts/2026-01/execution_20260101_000000_x_0123abcd"
        )
    with pytest.raises(ps.PathEscapeError):
        store.open_execution(tmp_path)


def test_generic_backend_with_missing_package_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "gcsfs", None)
    with pytest.raises(ps.MissingDependencyError, match="gcsfs"):
        ps.open_store("gcs://bucket/prefix")


def test_local_scheme_is_a_local_store(tmp_path: Path) -> None:
    store = ps.open_store(f"local://{tmp_path}/s")
    assert store.backend.root == str(tmp_path / "s")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"url_strategy": "jupyter", "jupyter_base_url": 8088}, TypeError),
        ({"url_strategy": "jupyter", "jupyter_base_url": "localhost:8088"}, ValueError),
        ({"url_strategy": "jupyter", "jupyter_base_url": "http://[bad"}, ValueError),
        ({"url_strategy": "jupyter", "jupyter_prefix": 5}, TypeError),
        ({"public_endpoint_url": "minio.example.org"}, ValueError),
    ],
)
def test_bad_link_settings_fail_at_open(
    memory_url: str, kwargs: dict[str, object], error: type
) -> None:
    with pytest.raises(error) as info:
        ps.open_store(memory_url, **kwargs)
    assert isinstance(info.value, ps.PyExecStoreError)


def test_timezone_aware_since(memory_url: str) -> None:
    from datetime import datetime, timedelta, timezone

    store = ps.open_store(memory_url)
    store.create_execution("tz")
    hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    assert len(store.list_executions(since=hour_ago)) == 1
    assert store.list_executions(since=hour_ago + timedelta(hours=2)) == []


def test_jupyter_links_outside_executed_scripts(tmp_path: Path) -> None:
    store = ps.open_store(tmp_path, url_strategy="jupyter", jupyter_base_url="http://h:1")
    assert store.url(tmp_path / "executed_scripts") == "http://h:1/lab/tree/executed_scripts"
    assert store.url(tmp_path / "executed_scripts/2026-01/x y.ipynb") == (
        "http://h:1/lab/tree/executed_scripts/2026-01/x%20y.ipynb"
    )
    assert store.url(tmp_path / "notes.txt") == (tmp_path / "notes.txt").as_uri()


def _error_classes() -> list[type[BaseException]]:
    import inspect

    from pyexec_store import errors

    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == errors.__name__
    ]


def _example(cls: type[BaseException]) -> BaseException:
    import errno

    if issubclass(cls, ps.StorageError):
        return cls("write", "s3://b/k.json", "http://127.0.0.1:9", "boom", errno=errno.ENOENT)
    if issubclass(cls, OSError):
        return cls(errno.ETIMEDOUT, "no answer within 20 s")
    if issubclass(cls, ImportError):
        return cls("the s3 backend needs s3fs", name="s3fs", path="/site-packages/s3fs")
    return cls("unknown option 'endpont_url'")


def test_every_error_class_is_covered() -> None:
    names = {cls.__name__ for cls in _error_classes()}
    assert {
        "PyExecStoreError",
        "StorageError",
        "StorageNotFoundError",
        "StorageExistsError",
        "StoragePermissionError",
        "ResultsWriteError",
        "ConfigError",
        "UnknownProtocolError",
        "PathEscapeError",
        "ConfigTypeError",
        "MissingDependencyError",
        "DeadlineError",
    } <= names


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy"])
def test_errors_survive_pickle_and_copy(cls: type[BaseException], how: str) -> None:
    import copy
    import pickle

    error = _example(cls)
    twin = {
        "pickle": lambda e: pickle.loads(pickle.dumps(e)),
        "copy": copy.copy,
        "deepcopy": copy.deepcopy,
    }[how](error)
    assert type(twin) is cls and twin is not error
    assert str(twin) == str(error) and repr(twin) == repr(error)
    assert twin.args == error.args and vars(twin) == vars(error)
    for attribute in ("errno", "strerror", "operation", "path", "endpoint", "reason", "name"):
        assert getattr(twin, attribute, None) == getattr(error, attribute, None)


def test_a_filesystem_that_connects_when_opened_fails_as_a_storage_error() -> None:
    # fsspec's ftp filesystem connects in its constructor: a dead host is a
    # StorageError from open_store, never a bare ConnectionRefusedError, and the
    # password (an option or in the URL) appears nowhere.
    for url, options in (
        ("ftp://127.0.0.1:9/x", {"username": "u", "password": "hunter2-secret"}),
        ("ftp://u:hunter2-secret@127.0.0.1:9/x", {}),
    ):
        with pytest.raises(ps.StorageError) as info:
            ps.open_store(url, **options)
        assert "hunter2" not in f"{info.value} {info.value!r}"
        assert "127.0.0.1:9" in str(info.value)
