"""Floors: the same bytes an execution writes, written with nothing around them.

An execution is recorded once on a memory store (every object handed to the
backend, in order, with the calls that wrote them together); the floors then
write exactly those bytes under fresh folder names:

- locally with bare ``open``/``write``/``close`` into the final files (and,
  as the floor of a durable finish, one ``fsync`` of every file and folder
  afterwards, as ``finish_execution`` does);
- on S3 with one boto3 ``put_object`` per object, one after the other, or all
  of an execution's objects at once from a thread pool.

Two replays split the gap between a floor and a whole execution: boto3 with
the same conditional headers (``If-None-Match: *`` on the objects the store
claims), and pyexec_store's own backend writing the recorded objects, grouped
as the store hands them over, without the store's work around them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyexec_store as ps
from pyexec_store.backends import Backend, WriteItem
from pyexec_store.bench import Payload, WriteTally, run_execution


@dataclass(frozen=True)
class StoredObject:
    """One object of an execution: its path inside the execution folder, bytes, type."""

    path: str
    data: bytes
    content_type: str | None
    exclusive: bool = False
    group: int = 0
    """Objects of one group were handed to the backend together."""


def record_objects(data: Payload) -> list[StoredObject]:
    """Every object one execution of ``data`` writes, in the order it writes them."""
    store = ps.open_store(f"memory://bench-floor-{uuid.uuid4().hex[:8]}")
    items: list[tuple[int, WriteItem]] = []
    write_many = store.backend.write_many

    def recording(batch: Sequence[WriteItem]) -> list[Any]:
        group = len({g for g, _ in items})
        items.extend((group, item) for item in batch)
        return write_many(batch)

    setattr(store.backend, "write_many", recording)  # noqa: B010
    run_execution(store, data, WriteTally(store.backend))
    objects = []
    for group, item in items:
        path = "/".join(item.path.split("/")[3:])
        objects.append(StoredObject(path, item.data, item.content_type, item.exclusive, group))
    return objects


def replay(backend: Backend, objects: Sequence[StoredObject]) -> None:
    """The objects of one execution written by ``backend``, grouped as the store wrote them."""
    month, name = _folder_name()
    folder = f"executed_scripts/{month}/{name}"
    backend.makedirs(f"{folder}/attempts", shared_from=folder)
    for group in sorted({o.group for o in objects}):
        batch = [
            WriteItem(f"{folder}/{o.path}", o.data, o.exclusive, o.content_type)
            for o in objects
            if o.group == group
        ]
        for outcome in backend.write_many(batch):
            if outcome is not None:
                raise outcome


def _folder_name() -> tuple[str, str]:
    now = datetime.now()
    return f"{now:%Y-%m}", f"execution_{now:%Y%m%d_%H%M%S}_bench_{uuid.uuid4().hex[:8]}"


def bare_local(root: str, objects: Sequence[StoredObject], *, sync: bool = False) -> None:
    """Write the objects of one execution with bare ``open``/``write``/``close``.

    With ``sync``, then ``fsync`` every file, the execution's folders and the
    folders above it up to ``root``: what a durable finish does.
    """
    month, name = _folder_name()
    folder = os.path.join(root, "executed_scripts", month, name)
    folders = {folder} | {os.path.dirname(os.path.join(folder, o.path)) for o in objects}
    for path in sorted(folders):
        os.makedirs(path, exist_ok=True)
    for obj in objects:
        with open(os.path.join(folder, obj.path), "wb") as f:
            f.write(obj.data)
    if not sync:
        return
    for path in sorted({os.path.join(folder, o.path) for o in objects}):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    above = [root, os.path.join(root, "executed_scripts"), os.path.dirname(folder)]
    for path in [*above, *sorted(folders)]:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class PutFloor:
    """One boto3 ``put_object`` per object of an execution, on one S3 server."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.pool = ThreadPoolExecutor(max_workers=16)

    def _keys(self, objects: Sequence[StoredObject]) -> list[tuple[str, StoredObject]]:
        month, name = _folder_name()
        base = f"{self.prefix}/executed_scripts/{month}/{name}"
        return [(f"{base}/{o.path}", o) for o in objects]

    def _put(self, key: str, obj: StoredObject, conditional: bool = False) -> None:
        extra = {"ContentType": obj.content_type} if obj.content_type else {}
        if conditional and obj.exclusive:
            extra["IfNoneMatch"] = "*"
        self.client.put_object(Bucket=self.bucket, Key=key, Body=obj.data, **extra)

    def sequential(self, objects: Sequence[StoredObject], *, conditional: bool = False) -> None:
        """Each object after the other (``conditional``: claims with ``If-None-Match: *``)."""
        for key, obj in self._keys(objects):
            self._put(key, obj, conditional)

    def parallel(self, objects: Sequence[StoredObject]) -> None:
        """Every object of the execution at once."""
        futures = [self.pool.submit(self._put, key, obj) for key, obj in self._keys(objects)]
        wait(futures)
        for future in futures:
            future.result()

    def close(self) -> None:
        self.pool.shutdown()
