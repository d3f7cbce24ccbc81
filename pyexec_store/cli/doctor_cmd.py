"""``doctor``: a preflight checklist of the store, a line per check with a fix for each failure."""

from __future__ import annotations

from typing import Any

import click
import orjson
from rich.console import Console
from rich.markup import escape

from ..doctor import doctor as run_doctor
from .app import EXIT_FAILURE, parse_option

STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


@click.command()
@click.option(
    "--store",
    "store_url",
    metavar="URL",
    help="Store URL or path (default: $PYEXEC_STORE_URL, else ./_agent_data).",
)
@click.option(
    "--option", "-o", "options", metavar="KEY=VALUE", multiple=True, help="A store option."
)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, nothing else.")
@click.pass_context
def doctor(
    click_ctx: click.Context, store_url: str | None, options: tuple[str, ...], as_json: bool
) -> None:
    """Check the store before using it: each line passes or fails, with a fix.

    S3: endpoint, clock, credentials, bucket, region, addressing, checksums,
    conditional writes, a probe written, read, fetched by presigned link and
    deleted. Local: the folder, its permissions, free space. Jupyter links:
    the server. Exit status 1 if any check fails.
    """
    settings: dict[str, Any] = dict(parse_option(o) for o in options)
    checks = run_doctor(store_url, **settings)
    failed = [c for c in checks if not c.ok]
    if as_json:
        click.echo(orjson.dumps([c.to_dict() for c in checks], option=orjson.OPT_INDENT_2))
    else:
        out = Console(highlight=False, soft_wrap=True)
        width = max(len(c.name) for c in checks)
        for c in checks:
            label = f"[{STYLE[c.outcome]}]{c.outcome.upper():<4}[/]"
            out.print(f"{label}  {c.name:<{width}}  {escape(c.detail)}")
            if c.hint and c.outcome in ("fail", "warn"):
                out.print(f"{'':<6}{'':<{width}}  [dim]fix:[/] {escape(c.hint)}")
        out.print(
            f"{len(failed)} of {len(checks)} checks failed" if failed else "all checks passed"
        )
    click_ctx.exit(EXIT_FAILURE if failed else 0)
