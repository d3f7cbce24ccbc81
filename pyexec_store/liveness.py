"""Is the writer of a running execution still alive?

An execution records who writes it (host, process id, the process's start
time and the machine's boot id) when it is claimed. An execution whose
metadata still says ``running`` is ``interrupted`` when:

- on the same host, its writer's process is gone (or the id now belongs to a
  process started later, or the machine rebooted since);
- from another host, it records a heartbeat (``pyexec-store run`` does) that is
  more than three intervals old.

A live writer on this host means ``running``, heartbeat or not; an execution
written on another host without heartbeats stays ``running`` (nothing tells).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

#: A heartbeat older than this many intervals means the writer is gone.
STALE_INTERVALS = 3


def _boot_id() -> str | None:
    with contextlib.suppress(OSError), open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip()
    return None


def _start_ticks(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (Linux), else ``None``."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        # The command name (field 2) may hold spaces: count fields after its ")".
        return int(stat[stat.rindex(b")") + 2 :].split()[19])
    return None


def writer() -> dict[str, Any]:
    """This process, as recorded in a new execution's metadata."""
    pid = os.getpid()
    return {
        "host": socket.gethostname(),
        "pid": pid,
        "started": _start_ticks(pid),
        "boot": _boot_id(),
    }


def writer_alive(record: Mapping[str, Any]) -> bool | None:
    """Whether the recorded writer still runs; ``None`` when this host cannot tell."""
    if record.get("host") != socket.gethostname():
        return None
    pid = record.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    boot = record.get("boot")
    if boot is not None and _boot_id() not in (None, boot):
        return False  # the machine restarted since
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as another user
    # A different start time: the id was reused by a later process.
    started, now_started = record.get("started"), _start_ticks(pid)
    return started is None or now_started is None or now_started == started


def heartbeat_stale(meta: Mapping[str, Any], now: datetime | None = None) -> bool:
    """Whether the execution records a heartbeat more than three intervals old."""
    beat, interval = meta.get("heartbeat"), meta.get("heartbeat_interval")
    if not isinstance(beat, str) or not isinstance(interval, (int, float)):
        return False
    try:
        last = datetime.fromisoformat(beat)
    except ValueError:
        return False
    if last.tzinfo is None:
        last = last.astimezone()
    now = now or datetime.now(timezone.utc)
    return (now - last).total_seconds() > STALE_INTERVALS * float(interval)


def is_interrupted(meta: Mapping[str, Any]) -> bool:
    """Whether a ``running`` execution's writer is known to be gone."""
    record = meta.get("writer")
    alive = writer_alive(record) if isinstance(record, Mapping) else None
    if alive is not None:
        return not alive
    return heartbeat_stale(meta)
