"""``run``: run a script and record everything it leaves behind."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from ..runner import RunOutcome, load_context_arguments, run_script
from ..units import human_size
from .app import make_store, store_options
from .browse import STATUS_STYLE


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@store_options
@click.option("--name", help="The execution's name (default: the script's file name).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop the script after this long (exit status 124).",
)
@click.option(
    "--context",
    "context_file",
    type=click.Path(dir_okay=False),
    help="A JSON file with the context to save.",
)
@click.option("--context-json", metavar="JSON", help="The context to save, as a JSON object.")
@click.argument("script", type=click.Path(exists=True, dir_okay=False))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(
    click_ctx: click.Context,
    store_url: str | None,
    options: dict[str, Any],
    name: str | None,
    timeout: float | None,
    context_file: str | None,
    context_json: str | None,
    script: str,
    args: tuple[str, ...],
) -> None:
    """Run SCRIPT.py with ARGS in a new Python process and record the execution.

    Options of pyexec-store go before the script; everything after it goes to
    the script. Exits with the script's exit status.
    """
    context = load_context_arguments(context_file, context_json)
    store = make_store(store_url, options)
    try:
        outcome = run_script(store, script, args, name=name, context=context, timeout=timeout)
    except KeyboardInterrupt as stop:
        if stop.args and isinstance(stop.args[0], RunOutcome):
            report(stop.args[0])
            click_ctx.exit(stop.args[0].exit_status)
        raise
    report(outcome)
    click_ctx.exit(outcome.exit_status)


def report(outcome: RunOutcome) -> None:
    """What was recorded: id and folder on lines of their own, then the files and links."""
    store_ctx = outcome.context
    meta = store_ctx.metadata
    status = meta.get("status", "unknown")
    err = Console(stderr=True, highlight=False)
    err.print(
        f"[{STATUS_STYLE.get(status, '')}]{status}[/] in {outcome.duration:.2f} s, "
        f"exit status {outcome.exit_status}"
        + (f": [red]{escape(outcome.error)}[/]" if outcome.error else "")
    )
    # Plain lines on stdout: programs read them, whatever the terminal's width.
    click.echo(f"execution {meta.get('execution_id', '')}")
    click.echo(f"folder {store_ctx.folder_path}")
    for key, (link, size) in outcome.links.items():
        click.echo(f"file {key} {human_size(size)} {link}")
