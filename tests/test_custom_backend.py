"""Backends and URL strategies added from outside: the registry, entry points, the contract."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, ClassVar

import pytest
from dictbackend import DictBackend
from test_contract import ResumedWritersContract, StoreContract

import pyexec_store as ps
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
