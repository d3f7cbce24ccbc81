"""The generic fsspec backend, which serves every fsspec protocol with no backend of its
own (and under which memory, local and S3 are built): errors that name the call and hide
secrets, modification times as each filesystem spells them, names as each lists them."""

from __future__ import annotations

import errno
import os
import uuid
import zipfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import fsspec
import pytest

import pyexec_store as ps
from pyexec_store.backends import FsspecBackend
from pyexec_store.backends.generic import modified

SECRET = "hunter2-secret"
TOKEN = "nested-token-value"


def test_a_failing_filesystem_names_the_call_and_hides_the_secret(
    memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A filesystem instance of its own (not fsspec's cached one), so only it fails.
    # Secrets at the top and in a nested mapping; a plain option is no secret.
    backend = FsspecBackend(
        memory_url,
        skip_instance_cache=True,
        password=SECRET,
        client_kwargs={"token": TOKEN},
        region="eu-west-9",
    )
    assert backend.fs is not fsspec.filesystem("memory")

    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, f"denied with password {SECRET} {TOKEN} in eu-west-9")

    for method in ("pipe_file", "cat_file", "find", "ls", "rm_file"):
        monkeypatch.setattr(backend.fs, method, denied)
    for operation, key, call in (
        ("write", "a/b.json", lambda: backend.write("a/b.json", b"1")),
        ("write", "a/c.json", lambda: backend.write("a/c.json", b"1", exclusive=True)),
        ("read", "a/b.json", lambda: backend.read("a/b.json")),
        ("list", "a", lambda: backend.find("a")),
        ("list", "a", lambda: backend.find_stats("a")),
        ("list", "a", lambda: backend.listdir("a")),
        ("delete", "a/b.json", lambda: backend.delete(["a/b.json"])),
    ):
        with pytest.raises(ps.StoragePermissionError) as info:
            call()
        assert (info.value.operation, info.value.path) == (operation, backend.uri(key))
        assert "denied with password" in str(info.value) and "in eu-west-9" in str(info.value)
        assert SECRET not in f"{info.value} {info.value!r}"
        assert TOKEN not in f"{info.value} {info.value!r}"


def test_a_filesystem_that_fails_to_open_is_named_without_its_user() -> None:
    # fsspec's ftp filesystem connects when created; port 9 refuses at once.
    with pytest.raises(ps.StorageError) as info:
        FsspecBackend(f"ftp://u:{SECRET}@127.0.0.1:9/x")
    assert (info.value.operation, info.value.path) == ("open", "ftp://127.0.0.1:9/x")
    assert info.value.endpoint is None  # the URL names the host already
    assert info.value.reason.startswith("ConnectionRefusedError: ")


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"mtime": 1_700_000_000.5}, 1_700_000_000.5),  # local, sftp
        ({"mtime": 1_700_000_000}, 1_700_000_000.0),  # an int is a time too
        ({"LastModified": datetime(2026, 1, 2, tzinfo=timezone.utc)}, 1_767_312_000.0),  # S3
        ({"created": datetime(2026, 1, 2, tzinfo=timezone.utc)}, 1_767_312_000.0),  # memory
        ({"mtime": 1.0, "LastModified": 2.0, "created": 3.0}, 1.0),  # the first name wins
        ({"LastModified": 2.0, "created": 3.0}, 2.0),
        ({"mtime": True, "created": 3.0}, 3.0),  # a flag is no time
        ({"mtime": "yesterday"}, None),
        ({"size": 3}, None),
    ],
)
def test_modification_times_as_each_filesystem_names_them(
    info: dict[str, Any], expected: float | None
) -> None:
    assert modified(info) == expected


def test_find_stats_has_the_files_modification_time(tmp_path: Path) -> None:
    # The generic backend on local disk: fsspec lists "mtime" and "created" (ctime).
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.json").write_bytes(b"123")
    os.utime(tmp_path / "d" / "a.json", (1_600_000_000, 1_600_000_000))
    backend = FsspecBackend(tmp_path.as_uri())
    assert backend.find_stats("d") == {"a.json": ps.backends.base.FileStat(3, 1_600_000_000.0)}


@pytest.fixture
def at_the_root() -> Iterator[ps.backends.Backend]:
    """A memory store at the root of fsspec's memory filesystem, with one folder of its own."""
    folder = f"root-{uuid.uuid4().hex[:8]}"
    backend = ps.open_store("memory://").backend
    backend.write(f"{folder}/a/b.json", b"12")
    yield backend
    fsspec.filesystem("memory").rm(f"memory:///{folder}", recursive=True)


def test_a_store_at_the_filesystem_root_finds_everything(
    at_the_root: ps.backends.Backend,
) -> None:
    (folder,) = [n for n in at_the_root.listdir("") if n.startswith("root-")]
    assert f"{folder}/a/b.json" in at_the_root.find("")
    assert at_the_root.find_stats("")[f"{folder}/a/b.json"].size == 2
    assert at_the_root.find(folder) == ["a/b.json"]


def test_listdir_takes_the_names_as_filesystems_spell_them(
    memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = FsspecBackend(memory_url, skip_instance_cache=True)
    folder = backend.full_path("d")
    # Folders with a trailing slash (as HTTP listings give them), a name ending in X,
    # and a filesystem's root listed among its entries: no empty name comes back.
    entries = [f"{folder}/sub/", f"{folder}/boX", f"{folder}/a b ", "/"]
    monkeypatch.setattr(backend.fs, "ls", lambda path, detail: entries)
    assert backend.listdir("d") == ["a b ", "boX", "sub"]


def test_listdir_of_a_filesystem_that_lists_bare_names(tmp_path: Path) -> None:
    # fsspec's zip filesystem lists its root as bare names, with no folder before them.
    with zipfile.ZipFile(tmp_path / "t.zip", "w") as archive:
        archive.writestr("a.txt", "1")
        archive.writestr("d/b.txt", "2")
    backend = FsspecBackend("zip://", fo=str(tmp_path / "t.zip"))
    assert backend.listdir("") == ["a.txt", "d"]


def test_a_root_ending_in_any_letter_is_kept_whole(memory_url: str) -> None:
    # Only slashes are trimmed from the root: "…/storeX" is not "…/store".
    backend = FsspecBackend(memory_url + "/storeX/")
    backend.write("a.json", b"1")
    assert backend.uri("") == memory_url.replace("memory://", "memory:///") + "/storeX"
    assert fsspec.filesystem("memory").cat_file(f"{memory_url}/storeX/a.json") == b"1"
    # and so are folders: what is found below "dX" is named from there.
    backend.write("dX/bX.json", b"2")
    assert backend.find("dX") == ["bX.json"]
    assert list(backend.find_stats("dX")) == ["bX.json"]


def test_options_a_filesystem_refuses_are_config_errors_of_their_kind() -> None:
    # A TypeError (missing or unknown arguments) is a ConfigTypeError ...
    with pytest.raises(ps.ConfigTypeError) as typed:
        FsspecBackend("dbfs://u:pw@host/x")
    assert str(typed.value).startswith("cannot open dbfs://host/x: ")
    assert "'instance'" in str(typed.value)  # the filesystem's own reason
    # ... a ValueError a ConfigError, with the secret options' values hidden.
    with pytest.raises(ps.ConfigError) as bad:
        FsspecBackend("simplecache://x", target_protocol=SECRET, password=SECRET)
    assert not isinstance(bad.value, ps.ConfigTypeError)
    assert str(bad.value) == "cannot open simplecache://x: Protocol not known: ***"
