"""A backend on no fsspec filesystem: a dict in this process, behind the contract only.

It proves the contract is the whole interface the store needs: the contract
suite runs on it unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import ClassVar

from upath import UPath
from upath.registry import register_implementation

import pyexec_store as ps
from pyexec_store.backends import Backend, WriteItem
from pyexec_store.layout import check_relative


class DictPath(UPath):
    """Paths of ``dict://`` stores: names only, no I/O through the path."""


register_implementation("dict", DictPath)

_STORES: dict[str, dict[str, bytes]] = {}


class DictBackend(Backend):
    protocol: ClassVar[str] = "dict"

    def __init__(self, url: str) -> None:
        self.name = url.split("://", 1)[1].strip("/")
        self.objects = _STORES.setdefault(self.name, {})
        self.lock = threading.Lock()

    def _check(self, key: str) -> str:
        return check_relative(key)

    def write_many(self, items: Sequence[WriteItem]) -> list[ps.StorageError | None]:
        for item in items:
            self._check(item.path)
        outcomes: list[ps.StorageError | None] = []
        with self.lock:
            for item in items:
                if item.exclusive and item.path in self.objects:
                    outcomes.append(ps.StorageExistsError("write", self.uri(item.path)))
                else:
                    self.objects[item.path] = bytes(item.data)
                    outcomes.append(None)
        return outcomes

    def read_many(self, keys: Sequence[str]) -> dict[str, bytes | ps.StorageError]:
        out: dict[str, bytes | ps.StorageError] = {}
        for key in keys:
            self._check(key)
            found = self.objects.get(key)
            out[key] = (
                found if found is not None else ps.StorageNotFoundError("read", self.uri(key))
            )
        return out

    def find(self, key: str) -> list[str]:
        prefix = self._check(key) + "/"
        return sorted(k[len(prefix) :] for k in self.objects if k.startswith(prefix))

    def listdir(self, key: str) -> list[str]:
        prefix = self._check(key) + "/" if key else ""
        return sorted(
            {k[len(prefix) :].split("/", 1)[0] for k in self.objects if k.startswith(prefix)}
        )

    def delete(self, keys: Sequence[str]) -> None:
        with self.lock:
            for key in keys:
                self.objects.pop(self._check(key), None)

    def uri(self, key: str) -> str:
        return f"dict:///{self.name}/{self._check(key)}" if key else f"dict:///{self.name}"
