"""The process a script runs in, for ``pyexec-store run``.

``python -m pyexec_store.cli._child OUTDIR SCRIPT [ARGS...]`` runs SCRIPT as
``__main__`` with matplotlib on Agg, then leaves in OUTDIR what the parent
stores: ``results.json`` (the script's global ``results``, encoded here where
the objects live, with ``results_warnings.json``), ``figure_NN.png`` for every
open matplotlib figure, and ``error.json`` (type, message, traceback) if the
script raised. It never touches the store: credentials stay with the parent.
The exit status is the script's own.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any


def _die_with_parent() -> None:
    """On Linux, be killed when the recording process dies (no orphaned scripts)."""
    parent = os.environ.get("PYEXEC_STORE_PARENT_PID")
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if parent and os.getppid() != int(parent):
        os._exit(137)  # the parent died before prctl took effect


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)  # sys.exit("message") prints it and exits 1
    return 1


def _save(outdir: Path, namespace: dict[str, Any]) -> None:
    if "results" in namespace:
        from pyexec_store.results import encode_results

        encoded = encode_results(namespace["results"])
        (outdir / "results.json").write_bytes(encoded.data)
        (outdir / "results_warnings.json").write_text(json.dumps(encoded.warnings))
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        for i, number in enumerate(pyplot.get_fignums(), 1):
            pyplot.figure(number).savefig(outdir / f"figure_{i:02d}.png", format="png")


def main() -> int:
    outdir, script, *args = sys.argv[1:]
    _die_with_parent()
    os.environ["MPLBACKEND"] = "Agg"
    out = Path(outdir)
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "__file__": script,
        "__builtins__": __builtins__,
    }
    status = 0
    try:
        code = compile(Path(script).read_bytes(), script, "exec")
        exec(code, namespace)  # the namespace outlives an exception: results are kept
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except BaseException as exc:
        status = 130 if isinstance(exc, KeyboardInterrupt) else 1
        # Without this module's own frame: the traceback starts in the script.
        frames = exc.__traceback__.tb_next if exc.__traceback__ else None
        text = "".join(traceback.format_exception(type(exc), exc, frames))
        sys.stderr.write(text)
        error = {"type": type(exc).__name__, "message": str(exc), "traceback": text}
        (out / "error.json").write_text(json.dumps(error))
    try:
        _save(out, namespace)
    except Exception:
        sys.stderr.write("pyexec-store: could not collect results or figures:\n")
        sys.stderr.write(traceback.format_exc())
    sys.stdout.flush()
    sys.stderr.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
