"""Run a Python script in its own process and record everything it leaves behind.

The work behind ``pyexec-store run``: claim an execution, save the context and
a ``pre_execution`` attempt notebook, run the script (streaming its output live
while keeping the tails), then store its ``results``, its open matplotlib
figures, a failure attempt notebook if it failed, the final notebook, the
execution page (with the ``html`` extra) and the metadata (times, exit status,
error, output tails). The script runs in a separate Python process
(:mod:`pyexec_store.cli._child`) that never sees the store's credentials; its
artifacts reach the store from here.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import rendering
from .errors import ConfigError, StorageError
from .models import PythonExecutionContext
from .results import EncodedResults
from .store import ArtifactStore

#: Seconds between heartbeats while a script runs (a reader elsewhere calls an
#: execution interrupted after three missed beats).
HEARTBEAT_INTERVAL = 30.0
#: How much of stdout and stderr the metadata keeps.
TAIL_BYTES = 8192
#: Seconds a stopped script gets to exit before it is killed.
GRACE_SECONDS = 5.0
EXIT_TIMEOUT = 124  # as timeout(1)
EXIT_INTERRUPTED = 130  # as a shell reports SIGINT


@dataclass
class RunOutcome:
    """What :func:`run_script` recorded."""

    context: PythonExecutionContext
    exit_status: int
    success: bool
    error: str | None
    duration: float
    links: dict[str, tuple[str, int]] = field(default_factory=dict)
    """The execution's files (relative to its folder): their link and size."""


class _Tail:
    """The last bytes of a stream, copied live to where the person sees it."""

    def __init__(self, source: IO[bytes], sink: Callable[[bytes], None]) -> None:
        self.chunks: deque[bytes] = deque()
        self.size = 0
        self.thread = threading.Thread(target=self._pump, args=(source, sink), daemon=True)
        self.thread.start()

    def _pump(self, source: IO[bytes], sink: Callable[[bytes], None]) -> None:
        while chunk := source.read1(65536) if hasattr(source, "read1") else source.read(65536):
            with contextlib.suppress(Exception):
                sink(chunk)
            self.chunks.append(chunk)
            self.size += len(chunk)
            while self.size - len(self.chunks[0]) >= TAIL_BYTES:
                self.size -= len(self.chunks.popleft())

    def text(self) -> str:
        self.thread.join(timeout=5)
        return b"".join(self.chunks)[-TAIL_BYTES:].decode("utf-8", "replace")


def _sink(stream: Any) -> Callable[[bytes], None]:
    binary = getattr(stream, "buffer", None)

    def write(chunk: bytes) -> None:
        if binary is not None:
            binary.write(chunk)
            binary.flush()
        else:
            stream.write(chunk.decode("utf-8", "replace"))
            stream.flush()

    return write


def load_context_arguments(path: str | None, text: str | None) -> dict[str, Any]:
    """The context given as ``--context FILE.json`` and ``--context-json '{...}'``."""
    context: dict[str, Any] = {}
    for where, raw in ((path, None), (None, text)):
        if where is None and raw is None:
            continue
        try:
            source = Path(where).read_text() if where is not None else str(raw)
            value = json.loads(source)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"context {where or 'JSON'} is not readable JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ConfigError(f"context {where or 'JSON'} must be a JSON object")
        context.update(value)
    return context


def run_script(
    store: ArtifactStore,
    script: str | os.PathLike[str],
    args: Sequence[str] = (),
    *,
    name: str | None = None,
    context: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    stdout: Any = None,
    stderr: Any = None,
) -> RunOutcome:
    """Run ``script`` with ``args`` in a new Python process and record the execution.

    Parameters
    ----------
    store
        Where the execution is recorded.
    name
        The execution's name (default: the script's stem).
    context
        Saved as ``context.json``, with the command line, working directory,
        Python version and host under ``"pyexec_store"``.
    timeout
        Seconds the script may run; then it is stopped (exit status 124).
    stdout, stderr
        Where the script's output is copied live (default: this process's).

    A Ctrl-C (``KeyboardInterrupt``) while the script runs stops it, records the
    execution as failed with the reason, and is raised again afterwards.
    """
    path = Path(script)
    try:
        code = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the script {str(script)!r}: {exc}") from None
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"timeout={timeout}: expected a positive number of seconds")
    ctx = store.create_execution(name or path.stem)
    started = time.time()
    run_info = {
        "command": [str(script), *args],
        "working_directory": os.getcwd(),
        "python": platform.python_version(),
        "host": socket.gethostname(),
    }
    store.save_context(ctx, {**(context or {}), "pyexec_store": run_info})
    store.create_attempt_notebook(ctx, code, stage="pre_execution")
    with tempfile.TemporaryDirectory(prefix="pyexec-run-") as outdir:
        status, reason, interrupted, tails = _run_child(
            store, ctx, path, args, Path(outdir), timeout, stdout, stderr
        )
        outcome = _record(store, ctx, code, Path(outdir), status, reason, started, tails)
    if interrupted:
        raise KeyboardInterrupt(outcome)
    return outcome


def _run_child(
    store: ArtifactStore,
    ctx: PythonExecutionContext,
    script: Path,
    args: Sequence[str],
    outdir: Path,
    timeout: float | None,
    stdout: Any,
    stderr: Any,
) -> tuple[int, str | None, bool, dict[str, str]]:
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    env["PYEXEC_STORE_PARENT_PID"] = str(os.getpid())
    command = [sys.executable, "-m", "pyexec_store.cli._child", str(outdir), str(script), *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    out = _Tail(proc.stdout, _sink(stdout or sys.stdout))
    err = _Tail(proc.stderr, _sink(stderr or sys.stderr))
    beating = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(store, ctx, beating), daemon=True)
    beat.start()
    reason: str | None = None
    interrupted = False
    try:
        status = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        reason = f"timed out after {timeout:g} s"
        _stop(proc, signal.SIGTERM)
        status = EXIT_TIMEOUT
    except KeyboardInterrupt:
        reason = "interrupted by Ctrl-C (SIGINT)"
        interrupted = True
        _stop(proc, signal.SIGINT)
        status = EXIT_INTERRUPTED
    finally:
        beating.set()
    if status < 0:  # killed by a signal
        reason = reason or f"killed by {signal.Signals(-status).name}"
        status = 128 - status
    return status, reason, interrupted, {"stdout": out.text(), "stderr": err.text()}


def _stop(proc: subprocess.Popen[bytes], first: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(first)
    try:
        proc.wait(timeout=GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _heartbeat(store: ArtifactStore, ctx: PythonExecutionContext, done: threading.Event) -> None:
    while not done.wait(HEARTBEAT_INTERVAL):
        with contextlib.suppress(StorageError):
            store.heartbeat(ctx, HEARTBEAT_INTERVAL)


def _record(
    store: ArtifactStore,
    ctx: PythonExecutionContext,
    code: str,
    outdir: Path,
    status: int,
    reason: str | None,
    started: float,
    tails: dict[str, str],
) -> RunOutcome:
    error_file = outdir / "error.json"
    failure = json.loads(error_file.read_text()) if error_file.exists() else None
    traceback_text = failure["traceback"] if failure else None
    error = reason or (f"{failure['type']}: {failure['message']}" if failure else None)
    if error is None and status != 0:
        error = f"exit status {status}"
    results_file = outdir / "results.json"
    saved_results = results_file.exists()
    if saved_results:
        warnings = json.loads((outdir / "results_warnings.json").read_text())
        store.save_results(ctx, EncodedResults(results_file.read_bytes(), warnings))
    figures = store.save_figures(ctx, [str(p) for p in sorted(outdir.glob("figure_*.png"))])
    if error is not None:
        context = traceback_text or error
        store.create_attempt_notebook(ctx, code, stage="execution_failed", error_context=context)
    store.create_final_notebook(
        ctx,
        code,
        results=True if saved_results else None,
        error_context=(traceback_text or error) if error else None,
        figure_paths=figures,
    )
    duration = time.time() - started
    details = {
        "exit_status": status,
        "duration_seconds": round(duration, 3),
        "results_saved": saved_results,
        "traceback": traceback_text,
        "stdout_tail": tails["stdout"],
        "stderr_tail": tails["stderr"],
    }
    # The page too, where the html extra is installed (a failure to render is a warning).
    render = True if rendering.available() else None
    store.finish_execution(ctx, success=error is None, error=error, details=details, render=render)
    folder = ctx.folder_key or ""
    links = {
        name: (store.urls.url(f"{folder}/{name}"), size)
        for name, size in sorted(store.backend.find_sizes(folder).items())
    }
    return RunOutcome(ctx, status, error is None, error, duration, links)
