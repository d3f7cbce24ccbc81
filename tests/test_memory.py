"""The memory backend's own write path: exclusive creates, files and folders kept apart."""

from __future__ import annotations

import errno
import re

import fsspec
import pytest

import pyexec_store as ps
from pyexec_store.backends import WriteItem


def test_exclusive_write_refuses_an_existing_key(memory_url: str) -> None:
    backend = ps.open_store(memory_url).backend
    backend.write("a/b.json", b"1", exclusive=True)
    with pytest.raises(ps.StorageExistsError):
        backend.write("a/b.json", b"2", exclusive=True)
    backend.write("a/b.json", b"3")  # an overwrite is allowed
    assert backend.read("a/b.json") == b"3"


def test_a_file_is_no_folder_and_a_folder_no_file(memory_url: str) -> None:
    backend = ps.open_store(memory_url).backend
    backend.write("a/b.json", b"1")
    outcomes = backend.write_many([WriteItem("a/b.json/c.json", b"2"), WriteItem("a/d", b"3")])
    assert isinstance(outcomes[0], ps.StorageError) and isinstance(outcomes[0], OSError)
    assert outcomes[1] is None
    fsspec.filesystem("memory").mkdir(memory_url + "/folder")
    with pytest.raises(ps.StorageError) as info:
        backend.write("folder", b"4")
    # As on disk: the errno of a folder in the way, and a reason in words, not a path.
    assert info.value.errno == errno.EISDIR
    assert re.fullmatch(r"IsADirectoryError: [A-Za-z ]+", info.value.reason), info.value.reason
    assert backend.find("") == ["a/b.json", "a/d"]
