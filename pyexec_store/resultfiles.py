"""Results files: write ``results.json`` atomically anywhere, and read it back.

The pure encoding and decoding live in :mod:`pyexec_store.results`; this
module adds the I/O, through the backends (a local path or any fsspec URL).
"""

from __future__ import annotations

import os
from typing import Any

import orjson

from .backends import read_file_url, write_file_url
from .results import decode_results, encode_results
from .results._text import bounded_str, safe_str, type_name

__all__ = ["load_results", "serialize_results_to_file"]


def serialize_results_to_file(
    results: Any, file_path: str | os.PathLike[str], *, indent: int | None = 2
) -> dict[str, Any]:
    """Encode ``results`` and write them atomically to ``file_path``.

    The document is encoded completely in memory first, then written in one
    atomic operation (temp file and rename locally, a single PUT on S3), so a
    reader never sees a partial file.

    Parameters
    ----------
    results : Any
        Anything; see :func:`pyexec_store.results.encode_results`.
    file_path : str or os.PathLike
        A local path or any fsspec URL (``s3://bucket/key``, ``memory://...``).
    indent : int or None, default 2
        Spaces per level, ``None`` for compact JSON.

    Returns
    -------
    dict
        The original metadata: ``success``, ``file_path``, ``error`` and
        ``serialization_warnings`` (every lossy conversion made); when the
        write fails also ``error_type`` and ``fallback_saved`` or
        ``fallback_error`` (a minimal ``_serialization_failed`` document is tried).
    """
    metadata: dict[str, Any] = {
        "success": False,
        "file_path": file_path,
        "error": None,
        "serialization_warnings": [],
    }
    try:
        encoded = encode_results(results, indent=indent)
        metadata["serialization_warnings"] = encoded.warnings
        write_file_url(file_path, encoded.data, content_type="application/json")
        metadata["success"] = True
        return metadata
    except Exception as e:
        metadata["error"] = safe_str(e)
        metadata["error_type"] = type_name(e)
        try:
            fallback = {
                "_serialization_failed": True,
                "_original_error": safe_str(e),
                "_fallback_representation": bounded_str(results),
            }
            write_file_url(file_path, orjson.dumps(fallback, option=orjson.OPT_INDENT_2))
            metadata["fallback_saved"] = True
        except Exception as fallback_error:
            metadata["fallback_error"] = safe_str(fallback_error)
        return metadata


def load_results(path_or_url: str | os.PathLike[str], **storage_options: Any) -> Any:
    """Read and parse a results document from a local path or fsspec URL.

    Parameters
    ----------
    path_or_url : str or os.PathLike
        Where the document is, e.g. ``".../results.json"`` or ``"s3://b/k/results.json"``.
    **storage_options
        Passed to the backend (e.g. ``endpoint_url`` for S3).

    Returns
    -------
    Any
        The parsed document (see :func:`pyexec_store.results.decode_results`).

    Raises
    ------
    pyexec_store.StorageError
        If the document cannot be read.
    ValueError
        If it is not JSON, or is past a bound (see ``decode_results``).
    """
    return decode_results(read_file_url(path_or_url, **storage_options))
