"""The ``pyexec-store`` command (also ``python -m pyexec_store``).

Built on click and rich, which come with the ``cli`` extra; without them the
command says which extra to install.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Run the ``pyexec-store`` command."""
    try:
        import click  # noqa: F401
        import rich  # noqa: F401
    except ImportError as exc:
        print(
            f"pyexec-store needs the cli extra ({exc.name} is missing): "
            "pip install 'pyexec-store[cli]'",
            file=sys.stderr,
        )
        sys.exit(2)
    from .app import cli

    cli.main(args=argv, prog_name="pyexec-store")
