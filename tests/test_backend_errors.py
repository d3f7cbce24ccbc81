"""What a failing backend call raises (the operation and the path it names), what a
call that only looks never does (create folders, leave the root), and the contract's
defaults that archiving uses (streamed writes, digests, stats): local, memory, dict, and
the generic fsspec backend that serves every other fsspec protocol."""

from __future__ import annotations

import errno
import hashlib
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dictbackend import DictBackend

import pyexec_store as ps
from pyexec_store.backends import FsspecBackend, read_file_url, write_file_url
from pyexec_store.backends.base import CHUNK, Digest
from pyexec_store.backends.local import LocalBackend


@pytest.fixture(params=["local", "memory", "dict", "fsspec"])
def backend(
    request: pytest.FixtureRequest, local_root: Path, memory_url: str
) -> Iterator[ps.backends.Backend]:
    if request.param == "dict":  # no fsspec below: every default of the contract
        yield DictBackend(f"dict://errors-{uuid.uuid4().hex[:8]}")
    elif request.param == "fsspec":  # what an fsspec protocol with no backend of its own gets
        yield FsspecBackend(memory_url)
    else:
        yield ps.open_store(local_root if request.param == "local" else memory_url).backend


@pytest.fixture(params=["local", "memory"])
def foldered(
    request: pytest.FixtureRequest, local_root: Path, memory_url: str
) -> ps.backends.Backend:
    """A backend that keeps files and folders apart (a key cannot be both)."""
    return ps.open_store(local_root if request.param == "local" else memory_url).backend


def test_a_missing_object_is_not_found_naming_the_read_and_its_url(
    backend: ps.backends.Backend,
) -> None:
    backend.write("a/present.json", b"{}")
    for key in ("a/missing.json", "no/such/folder.json"):
        with pytest.raises(ps.StorageNotFoundError) as info:
            backend.read(key)
        assert (info.value.operation, info.value.path) == ("read", backend.uri(key))
        assert str(info.value).startswith(f"could not read {backend.uri(key)}")


def test_a_taken_name_names_the_write_and_its_url(backend: ps.backends.Backend) -> None:
    backend.write("claim.json", b"1", exclusive=True)
    with pytest.raises(ps.StorageExistsError) as info:
        backend.write("claim.json", b"2", exclusive=True)
    assert (info.value.operation, info.value.path) == ("write", backend.uri("claim.json"))
    assert backend.read("claim.json") == b"1"


def test_deleting_what_is_not_there_is_fine(backend: ps.backends.Backend) -> None:
    backend.write("a/b.json", b"{}")
    backend.delete(["a/missing.json", "gone/folder/x.json", "top.json"])
    assert backend.read("a/b.json") == b"{}"


def test_find_sizes_gives_each_file_its_size(backend: ps.backends.Backend) -> None:
    backend.write("f/a.json", b"12345")
    backend.write("f/sub/b.png", b"")
    backend.write("f/sub/c.txt", b"x" * 1000)
    backend.write("other.json", b"1")
    assert backend.find_sizes("f") == {"a.json": 5, "sub/b.png": 0, "sub/c.txt": 1000}
    assert backend.find("f") == ["a.json", "sub/b.png", "sub/c.txt"]
    assert backend.find_sizes("missing") == {}


def test_find_sizes_of_a_backend_without_its_own() -> None:
    backend = DictBackend(f"dict://sizes-{uuid.uuid4().hex[:8]}")
    backend.write("f/a.json", b"12345")
    backend.write("f/sub/b.txt", b"")
    assert backend.find_sizes("f") == {"a.json": 5, "sub/b.txt": 0}


def test_the_root_lists_its_folders(backend: ps.backends.Backend) -> None:
    assert backend.listdir("") == []
    backend.write("executed_scripts/x.json", b"{}")
    backend.write("top.json", b"{}")
    assert backend.listdir("") == ["executed_scripts", "top.json"]


@pytest.mark.parametrize("key", ["../outside.json", "a/../../outside.json", "/etc/passwd"])
def test_no_call_leaves_the_root(local_root: Path, key: str) -> None:
    backend = ps.open_store(local_root / "store").backend
    backend.write("a/b.json", b"{}")
    for call in (
        lambda: backend.read(key),
        lambda: backend.read_many([key]),
        lambda: backend.find(key),
        lambda: backend.find_sizes(key),
        lambda: backend.listdir(key),
        lambda: backend.delete([key]),
        lambda: backend.makedirs(key),
        lambda: backend.sync(key),
    ):
        with pytest.raises(ps.PathEscapeError):
            call()
    assert sorted(p.name for p in local_root.iterdir()) == ["store"]


def test_looking_never_creates_a_folder(local_root: Path) -> None:
    backend = ps.open_store(local_root).backend
    backend.write("a/b.json", b"{}")
    with pytest.raises(ps.StorageNotFoundError):
        backend.read("x/y/z.json")
    assert backend.find("x/y") == [] and backend.find_sizes("x/y") == {}
    assert backend.listdir("x/y") == []
    backend.delete(["x/y/z.json"])
    with pytest.raises(ps.StorageNotFoundError) as info:
        backend.sync("x/y")
    assert (info.value.operation, info.value.path) == ("sync", backend.uri("x/y"))
    assert sorted(p.name for p in local_root.iterdir()) == ["a"]


def test_a_file_in_the_way_of_a_folder_names_the_call(local_root: Path) -> None:
    backend = ps.open_store(local_root).backend
    backend.write("a/file.json", b"{}")
    key = "a/file.json/inner.json"
    with pytest.raises(ps.StorageError) as info:
        backend.read(key)
    assert (info.value.operation, info.value.path, info.value.errno) == (
        "read",
        backend.uri(key),
        errno.ENOTDIR,
    )
    sub = "a/file.json/sub"
    for operation, where, call in (
        ("write", key, lambda: backend.write(key, b"x")),
        ("list", sub, lambda: backend.find(sub)),
        ("list", sub, lambda: backend.listdir(sub)),
        ("create folder", sub, lambda: backend.makedirs(sub)),
    ):
        with pytest.raises(ps.StorageError) as info:
            call()
        assert (info.value.operation, info.value.path) == (operation, backend.uri(where))


def test_folders_made_without_a_shared_part_get_the_folder_mode(local_root: Path) -> None:
    backend = ps.open_store(local_root, permissions="container").backend
    backend.makedirs("a/b")
    assert [(local_root / p).stat().st_mode & 0o7777 for p in ("a", "a/b")] == [0o2775, 0o2775]


def test_an_int_mode_gives_files_its_read_and_write_bits(local_root: Path) -> None:
    store = ps.open_store(local_root, permissions=0o2777)
    ctx = store.create_execution("modes")
    results = store.save_results(ctx, {})
    assert results.stat().st_mode & 0o7777 == 0o666
    assert ctx.folder_path.stat().st_mode & 0o7777 == 0o2777


@pytest.mark.parametrize("mode", [0, 0o7777])
def test_every_file_mode_is_an_int_policy(local_root: Path, mode: int) -> None:
    assert LocalBackend(str(local_root), permissions=mode).modes.folders == mode


@pytest.mark.parametrize("mode", [-1, 0o10000])
def test_an_int_policy_beyond_file_modes_is_refused(local_root: Path, mode: int) -> None:
    with pytest.raises(ps.ConfigError, match="is not a file mode"):
        LocalBackend(str(local_root), permissions=mode)


def test_a_misspelt_local_option_names_the_right_one(local_root: Path) -> None:
    for wrong, right in (("permisions", "permissions"), ("durabel", "durable")):
        with pytest.raises(ps.ConfigError) as info:
            ps.open_store(local_root, **{wrong: "x"})
        assert f"did you mean {right!r}?" in str(info.value)
        assert "for local stores" in str(info.value)


def test_file_and_local_urls_name_keys(local_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ps.open_store(local_root)
    ctx = store.create_execution("urls")
    folder = store.key(ctx.folder_path)
    for ref in (ctx.folder_path.as_uri(), f"local://{ctx.folder_path}"):
        assert store.key(ref) == folder
        assert store.open_execution(ref).folder_path == ctx.folder_path
    # relative to the working directory, inside the root
    monkeypatch.chdir(local_root.parent)
    assert store.key(f"{local_root.name}/{folder}") == folder


def test_a_store_at_the_filesystem_root_names_keys() -> None:
    store = ps.open_store("/")
    assert store.key("/etc/hosts") == "etc/hosts"
    assert store.key("/") == ""


def test_plain_files_outside_a_store(tmp_path: Path) -> None:
    write_file_url(tmp_path / "r.json", b"\x00\xff")
    assert read_file_url(tmp_path / "r.json") == b"\x00\xff"
    with pytest.raises(ps.StorageNotFoundError) as info:
        read_file_url(tmp_path / "missing.json")
    assert (info.value.operation, info.value.path) == ("read", str(tmp_path / "missing.json"))
    with pytest.raises(ps.StorageNotFoundError) as info:
        write_file_url(tmp_path / "no" / "r.json", b"{}")
    assert (info.value.operation, info.value.path) == ("write", str(tmp_path / "no" / "r.json"))


def test_a_stream_is_written_as_size_bytes_from_where_it_stands(
    backend: ps.backends.Backend,
) -> None:
    # Larger than one read chunk, so hashing it back takes several reads.
    data = bytes(range(256)) * (CHUNK // 256) + b"the last bytes"
    stream = io.BytesIO(b"head" + data + b"rest")
    stream.seek(4)
    backend.write_stream("s/big.bin", stream, len(data), content_type="application/octet-stream")
    assert stream.read() == b"rest"  # read no further than size
    assert backend.read("s/big.bin") == data
    with backend.open_read("s/big.bin") as opened:
        assert opened.read() == data
    digests = backend.digests(["s/big.bin", "s/missing.bin"])
    assert digests["s/big.bin"] == Digest(len(data), hashlib.sha256(data).hexdigest(), "read back")
    assert isinstance(digests["s/missing.bin"], ps.StorageNotFoundError)
    assert backend.digests([]) == {}


def test_a_short_stream_writes_nothing_and_says_how_short(backend: ps.backends.Backend) -> None:
    with pytest.raises(ps.StorageError) as info:
        backend.write_stream("s/short.bin", io.BytesIO(b"abc"), 5)
    assert (info.value.operation, info.value.path) == ("write", backend.uri("s/short.bin"))
    assert "got 3 of 5 bytes" in str(info.value)
    assert backend.find("s") == []


def test_missing_objects_cannot_be_opened(backend: ps.backends.Backend) -> None:
    with pytest.raises(ps.StorageNotFoundError):
        backend.open_read("s/missing.bin")


def test_find_stats_gives_sizes_and_where_listed_times(backend: ps.backends.Backend) -> None:
    backend.write("f/a.json", b"12345")
    backend.write("f/sub/b.png", b"")
    stats = backend.find_stats("f")
    assert {name: s.size for name, s in stats.items()} == {"a.json": 5, "sub/b.png": 0}
    # The dict backend lists no times; every storage on a filesystem does.
    times = [s.mtime for s in stats.values()]
    if isinstance(backend, DictBackend):
        assert times == [None, None]
    else:
        assert all(isinstance(t, float) and t > 0 for t in times)
    assert backend.find_stats("missing") == {}


@pytest.mark.parametrize("path", ["X", "a/X", "XX/X", "executed_scripts/figX", " "])
def test_a_relative_path_is_its_own_key(backend: ps.backends.Backend, path: str) -> None:
    # Slashes around a key are dropped, nothing else (keys may begin or end with any letter).
    assert backend.relative(path) == path
    assert backend.relative(f"{path}/") == path


def test_a_file_in_the_way_and_a_taken_name_have_their_errno(
    foldered: ps.backends.Backend,
) -> None:
    foldered.write("a/doc.json", b"1", exclusive=True)
    for key, code, exclusive in (
        ("a/doc.json/inner.json", errno.ENOTDIR, False),  # the parent is a file
        ("a/doc.json/sub/inner.json", errno.ENOTDIR, False),  # so is a grandparent
        ("a/doc.json", errno.EEXIST, True),
    ):
        with pytest.raises(ps.StorageError) as info:
            foldered.write(key, b"2", exclusive=exclusive)
        error = info.value
        assert (error.errno, error.operation, error.path) == (code, "write", foldered.uri(key))
        # The reason says why in words: no bare code, no path.
        assert re.fullmatch(r"[A-Za-z]+Error: [A-Za-z ]+", error.reason), error.reason
    assert foldered.read("a/doc.json") == b"1"
    assert foldered.find("a") == ["doc.json"]
