"""Names and places of everything an execution stores (pure logic, no I/O).

All paths here are POSIX strings *relative to the store root*. Every name that
comes from a caller passes through :func:`sanitize_name`, and every relative path
that reaches a backend passes through :func:`check_relative`, so nothing can
leave the store root.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import ConfigError, ConfigTypeError, PathEscapeError

SCRIPTS_DIR = "executed_scripts"
ATTEMPTS_DIR = "attempts"
FIGURES_DIR = "figures"
METADATA_FILE = "execution_metadata.json"
CONTEXT_FILE = "context.json"
RESULTS_FILE = "results.json"
FINAL_NOTEBOOK = "notebook.ipynb"
PAGE_FILE = "execution.html"  # the whole execution as one self-contained page
#: Written last into an archived execution: the size and SHA-256 of its files.
ARCHIVE_MANIFEST = "archive_manifest.json"
DEFAULT_NAME = "python_executor"
MAX_NAME_LENGTH = 64

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# Any name: folders written by the original module kept names unsanitised.
_FOLDER = re.compile(r"^execution_(?P<stamp>\d{8}_\d{6})_(?P<name>.+)_(?P<id>[0-9a-f]{8})$")
_ID = re.compile(r"^[0-9a-f]{8}$")
_ATTEMPT = re.compile(r"^(?P<number>\d+)_(?P<stage>.*)_(?P<time>\d{6})\.ipynb$")
_FIGURE = re.compile(r"^figure_(?P<number>\d+)\.png$")
_AGE = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def sanitize_name(name: object, default: str = DEFAULT_NAME) -> str:
    """Reduce a caller's name to ``[A-Za-z0-9._-]``, at most 64 characters.

    Letters are folded to ASCII first (``ünits`` -> ``units``); anything else
    becomes ``_``. Leading dots are replaced too, so a name is never ``.``,
    ``..`` or hidden. An empty result becomes ``default``.
    """
    if name is None:
        return default
    if not isinstance(name, str):
        raise ConfigTypeError(f"a name must be a str, not {type(name).__name__}")
    folded = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    cleaned = _UNSAFE.sub("_", folded)[:MAX_NAME_LENGTH]
    cleaned = re.sub(r"^\.+", lambda m: "_" * len(m.group()), cleaned)
    return cleaned or default


def check_relative(path: str) -> str:
    """Return ``path`` if it is a clean relative POSIX path inside the root.

    Raises
    ------
    PathEscapeError
        For an absolute path, a ``..`` or ``.`` part, an empty part, a
        backslash or a NUL: anything that could name a place outside the root.
    """
    parts = path.split("/")
    # An empty path and an absolute one have an empty part.
    if "\\" in path or "\x00" in path or any(part in ("", ".", "..") for part in parts):
        raise PathEscapeError(f"refusing path {path!r}: it is not a plain path inside the store")
    return path


@dataclass(frozen=True)
class ExecutionName:
    """The parts encoded in an execution folder's name."""

    folder: str
    """Path of the folder relative to the root."""
    name: str
    execution_id: str
    created_at: datetime


def local_now() -> datetime:
    """This moment in local time, timezone-aware (folder names use local time)."""
    return datetime.now().astimezone()


def new_execution_id() -> str:
    """A fresh execution id: 8 random hex digits."""
    return uuid.uuid4().hex[:8]


def new_execution(name: object, now: datetime | None = None) -> ExecutionName:
    """Choose the folder of a new execution (a fresh uuid8 each call)."""
    now = now or local_now()
    safe = sanitize_name(name)
    execution_id = new_execution_id()
    leaf = f"execution_{now:%Y%m%d_%H%M%S}_{safe}_{execution_id}"
    folder = f"{SCRIPTS_DIR}/{now:%Y-%m}/{leaf}"
    return ExecutionName(folder, safe, execution_id, now)


def parse_execution_folder(folder: str) -> ExecutionName | None:
    """Read name, id and time back from a folder path; ``None`` if it is not one of ours."""
    leaf = folder.rstrip("/").rsplit("/", 1)[-1]
    match = _FOLDER.match(leaf)
    if match is None:
        return None
    try:
        created = datetime.strptime(match["stamp"], "%Y%m%d_%H%M%S").astimezone()
    except ValueError:
        return None
    return ExecutionName(folder.rstrip("/"), match["name"], match["id"], created)


def is_execution_id(text: str) -> bool:
    """Whether ``text`` is an execution id (8 lowercase hex digits)."""
    return bool(_ID.match(text))


def folder_of_leaf(leaf: str) -> str | None:
    """The key of an execution folder from its name alone (its month is in the name)."""
    ex = parse_execution_folder(leaf)
    if ex is None or "/" in leaf:
        return None
    return f"{SCRIPTS_DIR}/{ex.created_at:%Y-%m}/{leaf}"


def month_folders_since(months: list[str], since: datetime | None) -> list[str]:
    """Keep the ``YYYY-MM`` folders that can hold executions at or after ``since``."""
    valid = sorted(m for m in months if re.fullmatch(r"\d{4}-\d{2}", m))
    if since is None:
        return valid
    return [m for m in valid if m >= f"{since.astimezone():%Y-%m}"]


def attempt_file(folder: str, number: int, stage: object, now: datetime | None = None) -> str:
    """``attempts/NN_<stage>_<HHMMSS>.ipynb`` inside ``folder``."""
    if not isinstance(number, int) or number < 1:
        raise ConfigError(f"attempt number must be a positive int, not {number!r}")
    now = now or local_now()
    stage_name = sanitize_name(stage, "execution")
    return f"{folder}/{ATTEMPTS_DIR}/{number:02d}_{stage_name}_{now:%H%M%S}.ipynb"


def figure_file(folder: str, number: int) -> str:
    """``figures/figure_NN.png`` inside ``folder``."""
    return f"{folder}/{FIGURES_DIR}/figure_{number:02d}.png"


@dataclass(frozen=True)
class AttemptName:
    """The parts encoded in an attempt notebook's file name."""

    number: int
    stage: str
    time: str
    """``HHMMSS``."""


def parse_attempt(filename: str) -> AttemptName | None:
    """Number, (sanitised) stage and time of an attempt notebook, or ``None``."""
    match = _ATTEMPT.match(filename.rsplit("/", 1)[-1])
    if match is None:
        return None
    return AttemptName(int(match["number"]), match["stage"], match["time"])


def figure_number(filename: str) -> int | None:
    """The ``NN`` of a figure's file name, or ``None``."""
    match = _FIGURE.match(filename.rsplit("/", 1)[-1])
    return int(match["number"]) if match else None


def parse_since(since: object, now: datetime | None = None) -> datetime | None:
    """Turn ``since`` into a datetime.

    Accepts ``None``, a ``datetime`` (naive means local time), a ``timedelta``
    (that long ago), an age such as ``"0s"``, ``"30m"``, ``"12h"``, ``"7d"``,
    ``"2w"``, or an ISO date or time (``"2026-11-01"``, ``"2026-11-01T08:00"``).
    The result is timezone-aware.
    """
    now = now or local_now()
    if since is None:
        return None
    if isinstance(since, datetime):
        return since.astimezone()  # naive: local time
    if isinstance(since, timedelta):
        return now - since
    if isinstance(since, str):
        match = _AGE.match(since)
        if match is not None:
            return now - timedelta(**{_UNITS[match["unit"]]: float(match["n"])})
        try:
            return datetime.fromisoformat(since.strip()).astimezone()
        except ValueError:
            raise ConfigError(
                f"{since!r}: expected an age like '30m', '12h', '7d' or '2w', or a date like "
                "'2026-11-01'"
            ) from None
    raise ConfigTypeError(f"since must be a datetime, timedelta or str, not {type(since).__name__}")
