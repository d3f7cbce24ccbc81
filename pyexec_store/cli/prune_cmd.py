"""``prune``: delete old executions, whole, after showing what goes (and asking, on a terminal)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click
import orjson
from rich.console import Console
from rich.markup import escape

from ..errors import ConfigError
from ..models import STATUSES
from ..prune import PruneReport, delete_prunable, find_prunable
from ..units import human_size
from .app import EXIT_FAILURE, make_store, parse_option


def _line(verb: str, e: Any) -> str:
    age = datetime.now().astimezone() - e.created_at
    return (
        f"{verb} {escape(e.folder)}  {e.status}, {age.days} d old, "
        f"{e.files} files, {human_size(e.bytes)}"
    )


@click.command()
@click.argument("store_url", metavar="STORE_URL")
@click.option(
    "--older-than",
    required=True,
    metavar="AGE|DATE",
    help="Executions started before this: 30d, 12h, 2w, 0s (all), or a date.",
)
@click.option(
    "--status",
    type=click.Choice([s for s in STATUSES if s != "running"]),
    help="Only executions with this status (running ones are never pruned).",
)
@click.option("--name", help="Only executions with this name, or matching this pattern.")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; delete nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--option", "-o", "options", metavar="KEY=VALUE", multiple=True, help="A store option."
)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, nothing else.")
@click.pass_context
def prune(
    click_ctx: click.Context,
    store_url: str,
    older_than: str,
    status: str | None,
    name: str | None,
    dry_run: bool,
    yes: bool,
    options: tuple[str, ...],
    as_json: bool,
) -> None:
    """Delete executions of STORE_URL started before --older-than, whole.

    Each is marked 'deleting' first and loses its metadata last: a prune cut
    off half-way shows them as 'deleting', and pruning again finishes them.
    Running executions are never touched. On a terminal it asks first (--yes
    does not); elsewhere it needs --yes (or --dry-run).
    """
    store = make_store(store_url, dict(parse_option(o) for o in options))
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False)
    report = find_prunable(store, older_than, status=status, name=name)
    if not as_json:
        for e in report.executions:
            out.print(_line("would delete" if dry_run or not yes else "deleting", e))
    if dry_run or not report.executions:
        _finish(click_ctx, report, out, as_json)
        return
    if not yes:
        if not sys.stdin.isatty():
            raise ConfigError("not a terminal to ask on: pass --yes to delete without asking")
        question = (
            f"Delete {len(report.executions)} executions ({report.files} files, "
            f"{human_size(report.bytes)}) from {store.backend.location}?"
        )
        if not click.confirm(question, err=True):
            err.print("nothing deleted")
            click_ctx.exit(EXIT_FAILURE)
    delete_prunable(store, report.executions)
    report.dry_run = False
    _finish(click_ctx, report, out, as_json)


def _finish(click_ctx: click.Context, report: PruneReport, out: Console, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(report.to_dict()).decode() + "\n")
    else:
        out.print(
            report.summary().replace(f" {report.bytes} bytes", f" {human_size(report.bytes)}")
        )
    err = Console(stderr=True, highlight=False)
    for e in report.failed:
        err.print(
            f"pyexec-store: error: {escape(e.folder)}: {escape(e.error or '')}", soft_wrap=True
        )
    click_ctx.exit(EXIT_FAILURE if report.failed else 0)
