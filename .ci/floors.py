"""The version floors of pyproject.toml: as pins, and checked against what is installed.

    python .ci/floors.py constraints   # name==floor, one a line, for `pip install -c`
    python .ci/floors.py check         # exit 1 unless exactly the floors are installed

The floors are the lower bounds (``>=``) of the runtime dependencies and of the
``s3`` extra whose markers hold for this Python, read from pyproject.toml each
time, so the pins cannot drift from it. A dependency without a lower bound is
an error: every floor must be one the tests have run on.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement  # pytest's dependency: in both venvs
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the copy pip carries
    from pip._vendor import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
EXTRAS = ("s3", "cli", "html")


def floors() -> dict[str, Version]:
    """The floor of each runtime and ``s3`` dependency, for this Python."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    lines = list(project["dependencies"])
    for extra in EXTRAS:
        lines += project["optional-dependencies"][extra]
    found: dict[str, Version] = {}
    for line in lines:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue  # a floor for another Python
        bounds = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")]
        if not bounds:
            sys.exit(f"{PYPROJECT.name}: {line!r} has no lower bound (>=)")
        name = canonicalize_name(req.name)
        found[name] = max([found.get(name, bounds[0]), *bounds])
    return found


def check() -> int:
    """0 if every floor is what is installed; else print the differences and return 1."""
    wrong = 0
    for name, floor in sorted(floors().items()):
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "missing"
        ok = installed != "missing" and Version(installed) == floor
        wrong += not ok
        print(f"{'ok' if ok else 'NOT THE FLOOR':>13}  {name}=={installed} (floor {floor})")
    if wrong:
        print(f"{wrong} dependencies are not at their floor: something pulled them up")
    return 1 if wrong else 0


def main(argv: list[str]) -> int:
    if argv == ["constraints"]:
        for name, floor in sorted(floors().items()):
            print(f"{name}=={floor}")
        return 0
    if argv == ["check"]:
        return check()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
