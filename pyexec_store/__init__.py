"""pyexec_store: a pluggable, fast and safe home for what a Python executor leaves behind.

Every attempt, run, approval and retry of generated code leaves artifacts:
attempt notebooks, the final notebook, ``results.json``, figures,
``context.json`` and metadata. pyexec_store writes them to an execution folder
on local disk (next to a Jupyter server), in memory, or in S3/MinIO, and makes
links people can open.

>>> import pyexec_store as ps
>>> store = ps.open_store("memory://demo")
>>> ctx = store.create_execution("sensor_analysis")
"""

from __future__ import annotations

from .archive import ArchiveReport, archive
from .compat import FileManager, NotebookManager, load_context
from .config import open_store
from .doctor import Check, doctor
from .errors import (
    ConfigError,
    ConfigTypeError,
    MissingDependencyError,
    PathEscapeError,
    PyExecStoreError,
    ResultsWriteError,
    StorageError,
    StorageExistsError,
    StorageNotFoundError,
    StoragePermissionError,
    UnknownProtocolError,
)
from .models import ExecutionInfo, NotebookAttempt, NotebookType, PythonExecutionContext
from .registry import register_backend, register_url_strategy
from .resultfiles import load_results, serialize_results_to_file
from .results import decode_results, encode_results, make_json_serializable
from .store import ArtifactStore

__version__ = "0.1.0"

__all__ = [
    "ArchiveReport",
    "ArtifactStore",
    "Check",
    "ConfigError",
    "ConfigTypeError",
    "ExecutionInfo",
    "FileManager",
    "MissingDependencyError",
    "NotebookAttempt",
    "NotebookManager",
    "NotebookType",
    "PathEscapeError",
    "PyExecStoreError",
    "PythonExecutionContext",
    "ResultsWriteError",
    "StorageError",
    "StorageExistsError",
    "StorageNotFoundError",
    "StoragePermissionError",
    "UnknownProtocolError",
    "__version__",
    "archive",
    "decode_results",
    "doctor",
    "encode_results",
    "load_context",
    "load_results",
    "make_json_serializable",
    "open_store",
    "register_backend",
    "register_url_strategy",
    "serialize_results_to_file",
]
