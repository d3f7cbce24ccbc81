"""``ls``, ``show``, ``url`` and ``view``: find executions again, see what they did, link them."""

from __future__ import annotations

import webbrowser
from datetime import datetime
from typing import Any

import click
import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import catalog, layout
from ..catalog import execution_key
from ..models import STATUSES, ExecutionInfo
from ..store import ArtifactStore
from ..units import human_duration, human_size
from ..urls import OPENING_SCHEMES
from .app import make_store, stdout_console, store_options

STATUS_STYLE = {
    "success": "green",
    "failed": "red",
    "running": "yellow",
    "interrupted": "magenta",
    "deleting": "dim",
    "unknown": "dim",
}


def duration(row: ExecutionInfo) -> float | None:
    """Seconds from start to finish, if it finished."""
    return (row.finished_at - row.created_at).total_seconds() if row.finished_at else None


def execution_link(store: ArtifactStore, row: ExecutionInfo) -> str:
    """A link that opens: the folder where links to folders open, else (S3) the
    execution page, or the final notebook while there is no page."""
    return row.url


def row_json(store: ArtifactStore, row: ExecutionInfo) -> dict[str, Any]:
    """One execution as a flat JSON object (the schema of ``ls --json``)."""
    return {
        "execution_id": row.execution_id,
        "name": row.name,
        "status": row.status,
        "created_at": row.created_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "duration_seconds": duration(row),
        "attempts": row.attempts,
        "figures": row.figures,
        "error": row.error,
        "path": str(row.path),
        "url": execution_link(store, row),
    }


def echo_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


@click.command()
@store_options
@click.option(
    "--name", help="Only executions with this name, or matching this pattern ('sensor_*')."
)
@click.option(
    "--since",
    metavar="AGE|DATE",
    help="Only executions started since: 30m, 12h, 7d, 2w, 0s or 2026-11-01.",
)
@click.option(
    "--status",
    type=click.Choice(STATUSES),
    help="Only executions with this status.",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many (the newest).")
@click.option("--json", "as_json", is_flag=True, help="A JSON array on stdout, nothing else.")
def ls(
    store_url: str | None,
    options: dict[str, Any],
    name: str | None,
    since: str | None,
    status: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List executions, newest first."""
    store = make_store(store_url, options)
    rows = store.list_executions(name=name, since=since, status=status)[::-1][:limit]
    if as_json:
        echo_json([row_json(store, r) for r in rows])
        return
    console = stdout_console()
    if not rows:
        console.print(f"No executions in {escape(store.backend.location)}.")
        return
    table = Table(box=None, header_style="bold")
    for column in ("name", "started", "duration", "status", "attempts", "figures", "id", "link"):
        table.add_column(column, overflow="fold", no_wrap=column not in ("name", "link"))
    for r in rows:
        style = STATUS_STYLE.get(r.status, "")
        table.add_row(
            escape(r.name),
            f"{r.created_at:%Y-%m-%d %H:%M:%S}",
            human_duration(duration(r)),
            f"[{style}]{r.status}[/]",
            "-" if r.attempts is None else str(r.attempts),
            "-" if r.figures is None else str(r.figures),
            r.execution_id,
            escape(execution_link(store, r)),
        )
    console.print(table)


@click.command()
@click.argument("execution")
@store_options
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, nothing else.")
def show(execution: str, store_url: str | None, options: dict[str, Any], as_json: bool) -> None:
    """Show one execution: metadata, files, links, output tails, error.

    EXECUTION is its id (8 hex digits), its folder name, or its path.
    """
    store = make_store(store_url, options)
    key = execution_key(store.backend, execution)
    parsed = layout.parse_execution_folder(key)
    assert parsed is not None  # execution_key checked it
    ctx = store.open_execution(key)
    meta = ctx.metadata
    files: list[dict[str, Any]] = [
        {"path": name, "size": size, "url": store.urls.url(f"{key}/{name}")}
        for name, size in sorted(store.backend.find_sizes(key).items())
    ]
    info = row_json(store, catalog.info(store.backend, store.urls, parsed, meta))
    if as_json:
        echo_json({**info, "metadata": meta, "files": files})
        return
    console = Console(highlight=False)
    status = info.get("status", "unknown")
    console.print(f"[bold]{escape(str(info.get('name', '')))}[/]  {info.get('execution_id', '')}")
    lines = [
        (
            "status",
            f"[{STATUS_STYLE.get(status, '')}]{status}[/]"
            + (f" (exit status {meta['exit_status']})" if "exit_status" in meta else ""),
        ),
        ("started", _when(info.get("created_at"))),
        (
            "finished",
            _when(info.get("finished_at")) + f"  ({human_duration(info.get('duration_seconds'))})",
        ),
        ("host", escape(str((meta.get("writer") or {}).get("host", "-")))),
        ("folder", escape(str(ctx.folder_path))),
        ("link", escape(str(info.get("url", ctx.folder_url)))),
    ]
    if meta.get("error"):
        lines.append(("error", f"[red]{escape(str(meta['error']))}[/]"))
    for label, value in lines:
        console.print(f"[bold]{label:<9}[/]{value}", soft_wrap=True)
    console.print("[bold]files[/]")
    for f in files:
        console.print(
            f"  {escape(f['path']):<40} {human_size(f['size']):>9}  {escape(f['url'])}",
            soft_wrap=True,
        )
    for stream in ("stdout", "stderr"):
        tail = meta.get(f"{stream}_tail")
        if tail:
            console.print(f"[bold]{stream}[/] (last lines)")
            console.print(escape("\n".join(tail.rstrip().splitlines()[-20:])), soft_wrap=True)


def _when(iso: object) -> str:
    if not isinstance(iso, str):
        return "-"
    return f"{datetime.fromisoformat(iso):%Y-%m-%d %H:%M:%S %z}"


@click.command()
@click.argument("target", metavar="EXECUTION|PATH")
@store_options
@click.option(
    "--expires", type=click.IntRange(min=1), metavar="SECONDS", help="Lifetime of a presigned link."
)
@click.option("--strategy", help="Link strategy: file, jupyter, presigned.")
def url(
    target: str,
    store_url: str | None,
    options: dict[str, Any],
    expires: int | None,
    strategy: str | None,
) -> None:
    """Print the link to an execution or to one of its files, alone on one line."""
    store = make_store(store_url, options, url_strategy=strategy)
    try:
        key = execution_key(store.backend, target)
    except ValueError:
        key = None
    if key is None:  # a file inside the store
        click.echo(store.url(target, expires=expires))
        return
    folder_link = store.urls.folder_url(key)
    if folder_link.startswith(OPENING_SCHEMES):
        click.echo(folder_link)
        return
    # Folders have no link here (S3): the page's, else the final notebook's, once written.
    files = store.backend.find(key)
    for name in (layout.PAGE_FILE, layout.FINAL_NOTEBOOK):
        if name in files:
            click.echo(store.url(f"{key}/{name}", expires=expires))
            return
    raise click.ClickException(
        f"{target}: no file to link yet (the execution has no page and no final notebook)"
    )


@click.command()
@click.argument("execution")
@store_options
@click.option("--render", is_flag=True, help="Render the page first (again if it exists).")
@click.option("--print", "print_only", is_flag=True, help="Print the link; open no browser.")
@click.option(
    "--expires", type=click.IntRange(min=1), metavar="SECONDS", help="Lifetime of a presigned link."
)
def view(
    execution: str,
    store_url: str | None,
    options: dict[str, Any],
    render: bool,
    print_only: bool,
    expires: int | None,
) -> None:
    """Open the execution page (execution.html) in the default browser.

    EXECUTION is its id (8 hex digits), its folder name, or its path. Where no
    browser can be started, the link is printed instead.
    """
    store = make_store(store_url, options)
    key = execution_key(store.backend, execution)
    page = f"{key}/{layout.PAGE_FILE}"
    if render:
        store.render_page(key)
    elif layout.PAGE_FILE not in store.backend.find(key):
        raise click.ClickException(
            f"{execution} has no page yet: render it with "
            f"'pyexec-store view {execution} --render' (needs pip install 'pyexec-store[html]')"
        )
    # On local disk the file itself: the page needs no server.
    link = store.backend.uri(page)
    if not link.startswith("file://"):
        link = store.url(page, expires=expires)
    if not link.startswith(OPENING_SCHEMES):
        raise click.ClickException(f"no browser can open {link} (choose another url strategy)")
    if print_only or not webbrowser.open(link):
        click.echo(link)
