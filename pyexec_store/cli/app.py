"""The ``pyexec-store`` program: the command group, store options and exit statuses.

Exit status: ``run`` returns the script's own; every other command 0 on
success, 1 when the work failed (an unreachable store, a missing execution),
2 on bad usage. Errors are one line on stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from .. import open_store
from ..errors import ConfigError, ConfigTypeError, MissingDependencyError, PyExecStoreError
from ..store import ArtifactStore

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILURE = 1
EXIT_USAGE = 2


class Program(click.Group):
    """A group that turns the library's errors into one line and an exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.meta.get("debug"):
                raise
            usage = isinstance(exc, (ConfigError, ConfigTypeError, MissingDependencyError))
            kind = "" if isinstance(exc, PyExecStoreError) else f"{type(exc).__name__}: "
            click.echo(f"pyexec-store: error: {kind}{exc}", err=True)
            if not isinstance(exc, PyExecStoreError):
                click.echo("(run with --debug for the traceback)", err=True)
            ctx.exit(EXIT_USAGE if usage else EXIT_FAILURE)


@click.group(cls=Program, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and the library's log.")
@click.version_option(package_name="pyexec-store", prog_name="pyexec-store")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Record Python script runs, find them again, show them and link them.

    The store is --store, else $PYEXEC_STORE_URL, else ./_agent_data.
    """
    ctx.meta["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="pyexec-store: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    if not debug:  # request details of botocore/s3fs never reach a terminal by default
        for noisy in ("botocore", "aiobotocore", "s3fs", "fsspec"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def stdout_console() -> Console:
    """A console for stdout: coloured and fitted on a terminal, never cut when piped."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 1_000_000  # piped or captured: whole lines, never folded at 80 columns
    return console


def parse_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE``, the value read as JSON where it parses (``5``, ``true``, ``{...}``)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{text!r}: expected KEY=VALUE", param_hint="--option")
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


def store_options(command: F) -> F:
    """Add ``--store`` and ``--option`` to a command; it receives ``store_url`` and ``options``."""

    @click.option(
        "--store",
        "store_url",
        metavar="URL",
        help="Store URL or path (default: $PYEXEC_STORE_URL, else ./_agent_data).",
    )
    @click.option(
        "--option",
        "-o",
        "options",
        metavar="KEY=VALUE",
        multiple=True,
        help="A store option (endpoint_url=..., url_strategy=...); repeatable.",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, options: tuple[str, ...], **kwargs: Any) -> Any:
        kwargs["options"] = dict(parse_option(o) for o in options)
        return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def make_store(store_url: str | None, options: dict[str, Any], **overrides: Any) -> ArtifactStore:
    """Open the store the options name; arguments win over ``--option``."""
    merged = {**options, **{k: v for k, v in overrides.items() if v is not None}}
    return open_store(store_url, **merged)


def register() -> None:
    from . import archive_cmd, bench_cmd, browse, doctor_cmd, prune_cmd, run_cmd

    cli.add_command(run_cmd.run)
    cli.add_command(browse.ls)
    cli.add_command(browse.show)
    cli.add_command(browse.url)
    cli.add_command(browse.view)
    cli.add_command(archive_cmd.archive)
    cli.add_command(prune_cmd.prune)
    cli.add_command(doctor_cmd.doctor)
    cli.add_command(bench_cmd.bench_command, name="bench")


register()
