"""``python -m pyexec_store``: the ``pyexec-store`` command."""

from .cli import main

main()
