"""Backends and URL strategies added from outside: the registry, entry points, the contract."""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from dictbackend import DictBackend
from test_contract import ResumedWritersContract, StoreContract

import pyexec_store as ps
from pyexec_store.backends import WriteItem
from pyexec_store.layout import check_relative
from pyexec_store.registry import BACKENDS, Registry
from pyexec_store.urls import UrlStrategy

if "dict" not in BACKENDS:
    ps.register_backend("dict", DictBackend)


@pytest.fixture
def dict_url() -> str:
    return f"dict://test-{uuid.uuid4().hex[:8]}"


class TestDict(StoreContract):
    """The contract suite, on a backend that is not built on fsspec."""

    @pytest.fixture
    def store(self, dict_url: str) -> ps.ArtifactStore:
        self.name = dict_url.removeprefix("dict://")
        return ps.open_store(dict_url)

    def expected_link(self, store: ps.ArtifactStore, key: str) -> str:
        return f"dict:///{self.name}/{key}"


class TestDictResumed(ResumedWritersContract):
    @pytest.fixture
    def store(self, dict_url: str) -> ps.ArtifactStore:
        return ps.open_store(dict_url)


class TypedDictBackend(DictBackend):
    """A dict backend on the contract's defaults that keeps content types, names an
    endpoint, takes an option, and spells the root's URL with a trailing slash."""

    protocol: ClassVar[str] = "typeddict"

    def __init__(self, url: str, deadline: float | None = None) -> None:
        super().__init__(url)
        self.deadline = deadline
        self.types: dict[str, str | None] = {}

    def write_many(self, items: Sequence[WriteItem]) -> list[ps.StorageError | None]:
        outcomes = super().write_many(items)
        for item, outcome in zip(items, outcomes, strict=True):
            if outcome is None:
                self.types[item.path] = item.content_type
        return outcomes

    def endpoint(self) -> str:
        return "dict.example"

    def uri(self, key: str) -> str:
        return f"typeddict:///{self.name}/" + ("" if key == "" else check_relative(key))


if "typeddict" not in BACKENDS:
    ps.register_backend("typeddict", TypedDictBackend)


def test_a_backend_with_no_accepts_takes_options_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYEXEC_STORE_DEADLINE", "7.5")
    backend = ps.open_store(f"typeddict://env-{uuid.uuid4().hex[:8]}").backend
    assert isinstance(backend, TypedDictBackend) and backend.deadline == 7.5


def test_the_contract_defaults_keep_what_a_backend_adds() -> None:
    store = ps.open_store(f"typeddict://defaults-{uuid.uuid4().hex[:8]}")
    backend = store.backend
    assert isinstance(backend, TypedDictBackend)
    # A streamed write reaches write_many with its content type.
    backend.write_stream("a/t.csv", io.BytesIO(b"x,y\n"), 4, content_type="text/csv")
    assert backend.types == {"a/t.csv": "text/csv"}
    # A short stream's error names the backend's endpoint.
    with pytest.raises(ps.StorageError) as info:
        backend.write_stream("a/short.csv", io.BytesIO(b"x"), 2)
    assert info.value.endpoint == "dict.example" and " at dict.example: " in str(info.value)
    # Keys come back from this backend's own URLs, the root's included.
    assert store.key(backend.uri("a/t.csv")) == "a/t.csv"
    assert store.key(backend.uri("")) == ""


class Trickle(io.RawIOBase):
    """A raw stream (a pipe, a socket) that returns at most 3 bytes a read."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk, self.data = self.data[:3], self.data[3:]
        return chunk


def test_the_default_streamed_write_reads_a_raw_stream_until_it_has_every_byte() -> None:
    backend = ps.open_store(f"dict://trickle-{uuid.uuid4().hex[:8]}").backend
    data = bytes(range(256)) * 4
    backend.write_stream("a/t.bin", Trickle(data), len(data))
    assert backend.read("a/t.bin") == data
    with pytest.raises(ps.StorageError, match="got 1024 of 1025 bytes"):
        backend.write_stream("a/short.bin", Trickle(data), len(data) + 1)
    assert backend.find("a") == ["t.bin"]  # relative to the prefix


class ShortFirst(io.RawIOBase):
    """A raw stream whose first read is short and the next ones give all they are asked."""

    def __init__(self, data: bytes) -> None:
        self.data, self.reads = data, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        n = 3 if self.reads == 1 else size
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk


def test_the_default_streamed_write_takes_size_bytes_and_no_more() -> None:
    backend = ps.open_store(f"dict://short-first-{uuid.uuid4().hex[:8]}").backend
    stream = ShortFirst(b"0123456789abcdef")
    backend.write_stream("a/t.bin", stream, 8)
    assert backend.read("a/t.bin") == b"01234567"
    assert stream.read(100) == b"89abcdef"  # the rest is left in the stream


def test_a_taken_name_is_refused_unless_replaced() -> None:
    with pytest.raises(ps.ConfigError, match="already registered"):
        ps.register_backend("s3", DictBackend)
    with pytest.raises(ps.ConfigError, match="already registered"):
        ps.register_backend("dict", DictBackend)
    ps.register_backend("dict", "dictbackend:DictBackend", replace=True)  # lazily imported
    assert BACKENDS.get("dict") is DictBackend


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ps.ConfigError) as info:
        ps.open_store("memory://x", url_strategy="carrier-pigeon")
    assert "file" in str(info.value) and "presigned" in str(info.value)


def test_a_missing_module_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    registry: Registry[Any] = Registry("backend", "no.such.group", {"x": ("no_such_mod:X", "x")})
    with pytest.raises(ps.MissingDependencyError, match=r"pip install 'pyexec-store\[x\]'"):
        registry.get("x")


def test_entry_points_are_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "plugin_pkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: plugin-pkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[pyexec_store.test_backends]\nplugged = dictbackend:DictBackend\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: Registry[Any] = Registry("backend", "pyexec_store.test_backends", {})
    assert registry.get("plugged") is DictBackend
    assert "plugged" in registry.names()
    dist2 = tmp_path / "late_pkg-1.0.dist-info"  # installed after the first look: not seen
    dist2.mkdir()
    (dist2 / "METADATA").write_text("Metadata-Version: 2.1\nName: late-pkg\nVersion: 1.0\n")
    (dist2 / "entry_points.txt").write_text(
        "[pyexec_store.test_backends]\nlate = dictbackend:DictBackend\n"
    )
    assert "late" not in registry.names()


class TicketUrls(UrlStrategy):
    """A strategy with an option of its own."""

    options: ClassVar[dict[str, Any]] = {"ticket_host": "https://tickets.invalid"}

    def url(self, key: str, *, expires: int | None = None) -> str:
        return f"{self.settings['ticket_host']}/view?key={key}"


def test_a_custom_strategy_takes_its_own_options(memory_url: str) -> None:
    ps.register_url_strategy("ticket", TicketUrls, replace=True)
    store = ps.open_store(memory_url, url_strategy="ticket", ticket_host="https://t.example")
    ctx = store.create_execution("t")
    folder = store.key(ctx.folder_path)
    assert store.url(ctx.folder_path / "x.json") == f"https://t.example/view?key={folder}/x.json"
    with pytest.raises(ps.ConfigError, match="ticket_hots"):
        ps.open_store(memory_url, url_strategy="ticket", ticket_hots="https://t.example")
