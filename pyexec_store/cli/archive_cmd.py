"""``archive``: copy finished executions to another store, verified; ``--watch`` keeps at it."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import click
import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from .. import open_store
from ..archive import Archiver, ArchiveReport, ExecutionOutcome, ProgressEvent
from ..archive.watch import next_wait
from ..backends import backend_class, split_protocol
from ..errors import ConfigError, PyExecStoreError
from ..models import STATUSES
from ..store import ArtifactStore
from ..units import human_size
from .app import EXIT_FAILURE, parse_option


def open_side(url: str, common: dict[str, Any], own: tuple[str, ...]) -> ArtifactStore:
    """Open one side of the copy: the ``-o`` options its backend takes, and its own ones."""
    cls = backend_class(split_protocol(url))
    options = {k: v for k, v in common.items() if cls.accepts(k)}
    options.update(parse_option(o) for o in own)
    return open_store(url, **options)


def check_common(common: dict[str, Any], urls: tuple[str, str]) -> None:
    """An ``-o`` option neither store takes is a mistake, not something to skip."""
    classes = [backend_class(split_protocol(u)) for u in urls]
    for name in common:
        if not any(c.accepts(name) for c in classes):
            raise ConfigError(f"unknown option {name!r}: neither store takes it")


class ArchiveProgress:
    """Executions and bytes as two rich progress bars on stderr."""

    def __init__(self, console: Console) -> None:
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.executions: TaskID | None = None
        self.bytes: TaskID | None = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind == "planned":
            for task in (self.executions, self.bytes):
                if task is not None:
                    self.bars.remove_task(task)
            self.executions = self.bars.add_task("executions", total=event.executions)
            self.bytes = self.bars.add_task("bytes", total=event.bytes or None)
        elif event.kind == "bytes" and self.bytes is not None:
            self.bars.advance(self.bytes, event.bytes)
        elif event.kind == "execution" and self.executions is not None:
            self.bars.advance(self.executions, 1)


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event, err: Console, received: list[int]) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` (executions in flight finish); a second one exits now."""

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            os._exit(128 + signum)  # safe: the next run completes whatever this one left
        received.append(signum)
        stop.set()
        err.print("stopping once the executions in flight are archived (again to stop now)")

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def print_outcomes(report: ArchiveReport, console: Console, *, every: bool) -> None:
    """A line per execution copied, repaired, failed, or (in a dry run) to copy and delete."""
    for e in report.executions:
        if e.action == "skipped" and not (every and e.reason):
            continue
        console.print(_line(e), soft_wrap=True, highlight=False)


def _line(e: ExecutionOutcome) -> str:
    folder = escape(e.folder)
    if e.action == "would archive":
        text = f"would archive {folder}: {len(e.copied)} files, {human_size(e.bytes)}"
        if e.removed:
            text += f", remove {len(e.removed)} stale objects"
    elif e.action in ("archived", "repaired"):
        text = f"{e.action} {folder}: {len(e.copied)} files, {human_size(e.bytes)}"
        if e.problems:
            text += f" [yellow](repaired: {escape('; '.join(e.problems))})[/]"
    elif e.action == "failed":
        text = f"[red]failed[/] {folder}: {escape(e.reason)}"
    else:
        text = f"[dim]skipped {folder}: {escape(e.reason)}[/]"
    if e.source_deleted:
        verb = "would delete" if e.action == "would archive" or not e.copied else "deleted"
        text += f"; {verb} from the source ({human_size(e.source_bytes)})"
    return text


@click.command()
@click.argument("src_url", metavar="SRC_URL")
@click.argument("dst_url", metavar="DST_URL")
@click.option("--since", metavar="AGE|DATE", help="Only executions started since (7d, 2026-11-01).")
@click.option("--name", help="Only executions with this name, or matching this pattern.")
@click.option("--status", type=click.Choice(STATUSES), help="Only executions with this status.")
@click.option("--include-running", is_flag=True, help="Archive running executions too.")
@click.option("--verify", is_flag=True, help="Read every archived file back; repair damage.")
@click.option(
    "--delete-source", is_flag=True, help="Delete executions from SRC once archived and checked."
)
@click.option(
    "--dry-run", is_flag=True, help="Show what would be copied and deleted; change nothing."
)
@click.option(
    "--watch",
    type=click.FloatRange(min=0, min_open=True),
    is_flag=False,
    flag_value=30.0,
    default=None,
    metavar="[SECONDS]",
    help="Keep running: archive executions as they finish, every SECONDS (30).",
)
@click.option("--concurrency", type=click.IntRange(min=1), default=8, show_default=True)
@click.option(
    "--option",
    "-o",
    "options",
    metavar="KEY=VALUE",
    multiple=True,
    help="A storage option for whichever store takes it; repeatable.",
)
@click.option(
    "--src-option",
    "src_options",
    metavar="KEY=VALUE",
    multiple=True,
    help="A storage option of SRC only.",
)
@click.option(
    "--dst-option",
    "dst_options",
    metavar="KEY=VALUE",
    multiple=True,
    help="A storage option of DST only.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, nothing else.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no lines per execution.")
@click.pass_context
def archive(
    click_ctx: click.Context,
    /,
    src_url: str,
    dst_url: str,
    options: tuple[str, ...],
    src_options: tuple[str, ...],
    dst_options: tuple[str, ...],
    watch: float | None,
    as_json: bool,
    quiet: bool,
    **settings: Any,
) -> None:
    """Copy finished executions from SRC_URL to DST_URL, verified, resumable.

    Each file is copied byte for byte and checked (size and SHA-256) before
    the execution's archive_manifest.json is written, last. Running it again
    copies only what is new or changed. Exit status 1 if any execution failed.
    """
    common = dict(parse_option(o) for o in options)
    check_common(common, (src_url, dst_url))
    src = open_side(src_url, common, src_options)
    dst = open_side(dst_url, common, dst_options)
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False)
    if not out.is_terminal:
        out.width = 1_000_000
    show_bars = err.is_terminal and not quiet
    bars = ArchiveProgress(err) if show_bars else None
    stop, received = threading.Event(), list[int]()
    archiver = Archiver(src, dst, progress=bars, stop=stop, **settings)
    with stop_on_signals(stop, err, received), bars.bars if bars else contextlib.nullcontext():
        if watch is not None:
            _watch(archiver, watch, stop, out, err, as_json=as_json, quiet=quiet)
            return
        report = archiver.run()
    _show(report, out, err, as_json=as_json, quiet=quiet, every=settings["dry_run"])
    if received:  # stopped before the end: what is left is archived next time
        click_ctx.exit(128 + received[0])
    click_ctx.exit(EXIT_FAILURE if report.failed else 0)


def _show(
    report: ArchiveReport, out: Console, err: Console, *, as_json: bool, quiet: bool, every: bool
) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(report.to_dict()).decode() + "\n")
        sys.stdout.flush()
    else:
        if not quiet:
            print_outcomes(report, out, every=every)
        out.print(report.summary())
    for e in report.failed:
        err.print(f"pyexec-store: error: {escape(e.folder)}: {escape(e.reason)}", soft_wrap=True)


def _watch(
    archiver: Archiver,
    interval: float,
    stop: threading.Event,
    out: Console,
    err: Console,
    *,
    as_json: bool,
    quiet: bool,
) -> None:
    """Pass after pass until SIGINT/SIGTERM; a line (or JSON object) per pass that did something."""
    if not as_json:
        err.print(f"watching {escape(archiver.src.backend.location)} every {interval:g} s")
    failed_passes = 0
    while not stop.is_set():
        try:
            report = archiver.run()
        except (PyExecStoreError, OSError) as exc:
            failed_passes += 1
            err.print(f"pyexec-store: error: {escape(str(exc))} (trying again later)")
        else:
            failed_passes = failed_passes + 1 if report.failed else 0
            busy = any(e.action != "skipped" for e in report.executions)
            if busy:
                _show(report, out, err, as_json=as_json, quiet=quiet, every=False)
        stop.wait(next_wait(interval, failed_passes))
