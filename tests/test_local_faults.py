"""Local stores under faults: a writer killed mid-write, a full disk, a read-only filesystem."""

from __future__ import annotations

import errno
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from localusers import needs_root

import pyexec_store as ps

# Writes 1 MiB of a large result, says so, and waits to be killed half-way.
KILLED_WRITER = r"""
import os, sys, time
import pyexec_store as ps

store = ps.open_store(sys.argv[1])
ctx = store.open_execution(sys.argv[2])
real_write = os.write

def write_then_hang(fd, data):
    written = real_write(fd, bytes(memoryview(data)[: 1 << 20]))
    print("writing", flush=True)
    time.sleep(60)
    return written

os.write = write_then_hang
store.save_results(ctx, {"v": 2, "blob": "x" * (8 << 20)})
"""


def temp_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith("."))


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_writer_killed_mid_write_leaves_the_previous_file(local_root: Path) -> None:
    store = ps.open_store(local_root)
    ctx = store.create_execution("killed")
    store.save_results(ctx, {"v": 1})
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(local_root), str(ctx.folder_path)],
        stdout=subprocess.PIPE,
    )
    try:
        assert writer.stdout is not None
        assert select.select([writer.stdout], [], [], 60)[0], "the writer never started writing"
        assert writer.stdout.readline() == b"writing\n"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert store.load_results(ctx) == {"v": 1}
    (temp,) = temp_files(ctx.folder_path)  # the killed writer's partial file
    assert temp.name.startswith(f".results.json.{writer.pid}-") and temp.stat().st_size == 1 << 20
    key = store.key(ctx.folder_path)
    assert store.backend.find(key) == ["execution_metadata.json", "results.json"]
    assert ".results.json" not in " ".join(store.backend.listdir(key))
    assert [r.status for r in store.list_executions()] == ["running"]
    store.open_execution(ctx.folder_path)
    assert temp.exists()  # too recent to tell from a writer in another pid namespace
    age(temp, 120)
    store.open_execution(ctx.folder_path)  # listing the execution removes it now
    assert temp_files(ctx.folder_path) == []
    assert store.load_results(ctx) == {"v": 1}


def test_a_running_writers_temporary_file_is_kept(local_root: Path) -> None:
    store = ps.open_store(local_root)
    ctx = store.create_execution("alive")
    temp = ctx.folder_path / f".results.json.{os.getpid()}-999.tmp"
    temp.write_bytes(b"{")
    age(temp, 3600)  # old, but its writer (this process) still runs
    assert store.backend.find(store.key(ctx.folder_path)) == ["execution_metadata.json"]
    assert temp.exists()


def test_disk_full_keeps_the_previous_file(
    local_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ps.open_store(local_root)
    ctx = store.create_execution("full")
    store.save_results(ctx, {"v": 1})
    real_write = os.write
    calls = []

    def full_after_4k(fd: int, data: bytes) -> int:
        calls.append(fd)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, bytes(memoryview(data)[:4096]))

    monkeypatch.setattr(os, "write", full_after_4k)
    with pytest.raises(ps.StorageError) as info:
        store.save_results(ctx, {"v": 2, "blob": "x" * 100_000})
    calls.clear()
    with pytest.raises(ps.StorageError) as claim:
        store.create_attempt_notebook(ctx, "x = 1\n" * 2000)
    monkeypatch.undo()
    for exc in (info.value, claim.value):
        assert exc.errno == errno.ENOSPC and "No space left on device" in str(exc)
    assert "results.json" in str(info.value)
    assert store.load_results(ctx) == {"v": 1}
    assert temp_files(ctx.folder_path) == [] and temp_files(ctx.folder_path / "attempts") == []
    assert list((ctx.folder_path / "attempts").iterdir()) == []


# Runs in its own mount namespace: a 256 KiB tmpfs, filled, then made read-only.
TINY_FILESYSTEM = r"""
import json, os, subprocess, sys
import pyexec_store as ps

mount = sys.argv[1]
if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mount]).returncode:
    sys.exit("cannot mount a tmpfs")
store = ps.open_store(mount + "/store")
ctx = store.create_execution("tiny")
store.save_results(ctx, {"v": 1})
seen = {}
for case, results in (("full", {"v": 2, "blob": "x" * (1 << 20)}), ("readonly", {"v": 3})):
    if case == "readonly":
        subprocess.run(["mount", "-o", "remount,ro", mount], check=True)
    try:
        store.save_results(ctx, results)
    except ps.StorageError as exc:
        seen[case] = [type(exc).__name__, exc.errno, str(exc)]
    seen[case + " kept"] = store.load_results(ctx)
seen["hidden"] = [n for n in os.listdir(ctx.folder_path) if n.startswith(".")]
print(json.dumps(seen))
"""


@needs_root
def test_a_real_full_and_read_only_filesystem(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) to mount a private tmpfs")
    mount = tmp_path / "tiny"
    mount.mkdir()
    private = [unshare, "--mount", "--propagation", "private"]
    run = subprocess.run(
        [*private, sys.executable, "-c", TINY_FILESYSTEM, str(mount)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if run.stderr.startswith("unshare:") or run.stderr.endswith("cannot mount a tmpfs\n"):
        pytest.skip(f"no private tmpfs here: {run.stderr.strip()[-200:]}")
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["full"][:2] == ["StorageError", errno.ENOSPC] and "results.json" in seen["full"][2]
    assert seen["readonly"][:2] == ["StorageError", errno.EROFS]
    assert seen["full kept"] == seen["readonly kept"] == {"v": 1}
    assert seen["hidden"] == []
