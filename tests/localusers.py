"""A second local user for tests run as root: call a function as ``nobody``.

The function runs in a forked child that drops to uid/gid 65534 (the
interpreter lives where ``nobody`` may not read it, so the child is forked, not
started anew). Its return value comes back through a pipe; an exception is
returned as ``(type name, errno, message)`` by :func:`outcome`.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

NOBODY = 65534
needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="switching users needs root"
)


def as_nobody(fn: Callable[..., Any], *args: Any, timeout: float = 60.0) -> Any:
    """``fn(*args)`` run as ``nobody`` in a forked child; its (picklable) return value."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                data = pickle.dumps((True, fn(*args)))
            except BaseException as exc:
                data = pickle.dumps((False, f"{type(exc).__name__}: {exc}"))
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    try:
        while True:
            if not select.select([read_end], [], [], timeout)[0]:
                raise TimeoutError(f"the child running {fn.__name__} as nobody hung")
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    ok, value = pickle.loads(b"".join(chunks))
    if not ok:
        raise AssertionError(f"{fn.__name__} failed as nobody: {value}")
    return value


def outcome(action: Callable[[], object]) -> str | tuple[str, int | None, str]:
    """``"ok"``, or what ``action`` raised as ``(type name, errno, message)``."""
    try:
        action()
    except OSError as exc:
        return (type(exc).__name__, exc.errno, str(exc))
    return "ok"


@contextlib.contextmanager
def shared_folder() -> Iterator[Path]:
    """A fresh folder every local user can reach (pytest's tmp_path is root's only)."""
    path = Path(tempfile.mkdtemp(prefix="pyexec-users-"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
