"""``bench``: whole executions on one or more stores, compared in one table."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from typing import Any

import click
import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..bench import OPERATIONS, StoreReport, Workload, bench, parse_size
from ..bench.plot import plot_reports
from ..config import DEFAULT_URL, ENV_PREFIX
from ..errors import ConfigError
from ..units import human_size
from .app import parse_option, stdout_console


def size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A size in bytes: ``1KB``, ``30MB``, ``512KiB`` or a number."""
    try:
        return parse_size(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def human_ms(seconds: float) -> str:
    """Seconds as milliseconds with three significant digits."""
    if math.isnan(seconds):
        return "-"
    ms = seconds * 1000
    return f"{ms:.3g} ms" if ms < 100 else f"{ms:.0f} ms"


def comparison(reports: Sequence[StoreReport]) -> Table:
    """One table: a row per figure, a column per store."""
    workload = reports[0].workload
    table = Table(
        show_edge=False,
        header_style="bold",
        caption=(
            f"each execution: {workload.attempts} attempt notebooks, "
            f"results {human_size(workload.results_size)}, "
            f"{workload.figures} figures of {human_size(workload.figure_size)}"
        ),
    )
    table.add_column("", no_wrap=True)
    for report in reports:
        table.add_column(escape(report.url), justify="right", overflow="fold")

    def row(label: str, cells: Sequence[str], style: str = "") -> None:
        table.add_row(label, *cells, style=style)

    one = [min(r.runs, key=lambda run: run.workers) for r in reports]
    row("executions", [str(run.executions) for run in one])
    for q in (50, 95, 99):
        row(f"latency p{q}, 1 writer", [human_ms(run.latency(q)) for run in one])
    levels = sorted({run.workers for r in reports for run in r.runs})
    for workers in levels:
        runs = [next((x for x in r.runs if x.workers == workers), None) for r in reports]
        row(
            f"executions/s, {workers} writer{'s' if workers > 1 else ''}",
            [f"{x.executions_per_second:.1f}" + _mode(x.mode) if x else "-" for x in runs],
            "bold",
        )
        if workers > 1:
            for q in (50, 99):
                row(f"  latency p{q}", [human_ms(x.latency(q)) if x else "-" for x in runs])
    row("median per call, 1 writer", ["" for _ in reports], "dim")
    operations = [r.operations() for r in reports]
    for name in OPERATIONS:
        if any(name in ops for ops in operations):
            row(f"  {name}", [human_ms(ops.get(name, math.nan)) for ops in operations])
    row("written per execution", [_written(r) for r in reports])
    requests = [r.requests() for r in reports]
    if any(req is not None for req in requests):
        row(
            "requests per execution",
            [_count(sum(req.values())) if req is not None else "-" for req in requests],
        )
        for name in sorted({n for req in requests if req for n in req}):
            row(
                f"  {name}",
                [_count(req.get(name, 0)) if req is not None else "-" for req in requests],
            )
    return table


def _mode(mode: str) -> str:
    return " (threads)" if mode == "threads" else ""


def _written(report: StoreReport) -> str:
    objects = report.per_execution("objects_written")
    return f"{_count(objects)} objects, {human_size(int(report.per_execution('bytes_written')))}"


def _count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


@click.command()
@click.option(
    "--store",
    "stores",
    metavar="URL",
    multiple=True,
    help="A store to measure; repeatable (default: $PYEXEC_STORE_URL, else ./_agent_data).",
)
@click.option(
    "--option",
    "-o",
    "options",
    metavar="KEY=VALUE",
    multiple=True,
    help="A store option for every store that takes it (endpoint_url=...); repeatable.",
)
@click.option("--executions", "-n", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--attempts", type=click.IntRange(min=0), default=3, show_default=True)
@click.option("--results-size", metavar="SIZE", default="1KB", show_default=True, callback=size)
@click.option("--figures", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--figure-size", metavar="SIZE", default="20KB", show_default=True, callback=size)
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(min=1),
    multiple=True,
    default=(4,),
    show_default=True,
    help="Writers at once (processes); repeatable. One writer is always measured too.",
)
@click.option("--keep", is_flag=True, help="Leave the executions written in place.")
@click.option("--json", "as_json", is_flag=True, help="Print only JSON: one object per store.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, writable=True),
    metavar="FILE.png",
    help="Also draw the comparison as a PNG chart (needs matplotlib).",
)
def bench_command(
    stores: tuple[str, ...],
    options: tuple[str, ...],
    executions: int,
    attempts: int,
    results_size: int,
    figures: int,
    figure_size: int,
    concurrency: tuple[int, ...],
    keep: bool,
    as_json: bool,
    plot: str | None,
) -> None:
    """Run whole executions on each store and compare them in one table.

    Each execution creates, saves the context, the attempt notebooks, the
    results, the figures and the final notebook, and finishes, as an
    executor does. Every store gets a fresh prefix, deleted afterwards
    (--keep keeps it); executions run with one writer, then shared by
    --concurrency writers at once. On S3, the requests sent are counted by type.
    """
    urls = list(stores) or [os.environ.get(ENV_PREFIX + "URL") or DEFAULT_URL]
    workload = Workload(executions, attempts, results_size, figures, figure_size)
    err = Console(stderr=True, highlight=False)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        tasks: dict[str, Any] = {}

        def progress(task: str, finished: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = bar.add_task(escape(task), total=total)
            bar.advance(tasks[task], finished)

        reports = bench(
            urls,
            workload=workload,
            concurrency=concurrency,
            options=dict(parse_option(o) for o in options),
            keep=keep,
            progress=progress,
        )
    if plot:
        plot_reports(reports, plot)
    if as_json:
        click.echo(orjson.dumps([r.to_json() for r in reports], option=orjson.OPT_INDENT_2))
    else:
        stdout_console().print(comparison(reports))
    sys.stdout.flush()
    for report in reports:
        for note in report.notes:
            err.print(f"{escape(report.url)}: {escape(note)}")
        if report.kept:
            err.print(f"kept {escape(report.written_under)}")
