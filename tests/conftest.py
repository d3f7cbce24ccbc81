"""Shared fixtures: real S3 servers on 127.0.0.1 (moto in server mode, SeaweedFS), and stores."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from s3server import RecordingMotoServer
from seaweed import KEY as WEED_KEY
from seaweed import SECRET as WEED_SECRET
from seaweed import SeaweedServer

# Property tests do real I/O: on a shared 2-core machine a slow example is not a failure.
settings.register_profile(
    "pyexec", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("pyexec")

# Fake credentials for the local S3 server, and no lookups of real ones.
S3_KEY = "pyexec-test-key"
S3_SECRET = "pyexec-test-secret-do-not-log"
os.environ.update(
    AWS_ACCESS_KEY_ID=S3_KEY,
    AWS_SECRET_ACCESS_KEY=S3_SECRET,
    AWS_DEFAULT_REGION="us-east-1",
    AWS_EC2_METADATA_DISABLED="true",
    NO_PROXY="127.0.0.1,localhost",
    MPLBACKEND="Agg",
)
os.environ.pop("PYEXEC_STORE_URL", None)
BUCKET = "pyexec-test"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[RecordingMotoServer]:
    """One moto S3 server for the whole session."""
    server = RecordingMotoServer("127.0.0.1", 0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3(s3_server: RecordingMotoServer) -> Iterator[RecordingMotoServer]:
    """A clean S3 server with an empty bucket ``pyexec-test``; the request log starts empty."""
    import boto3
    import s3fs

    s3_server.reset()
    s3fs.S3FileSystem.clear_instance_cache()
    boto3.client("s3", endpoint_url=s3_server.endpoint_url).create_bucket(Bucket=BUCKET)
    s3_server.take_requests()
    yield s3_server
    s3fs.S3FileSystem.clear_instance_cache()


def s3_options(server: RecordingMotoServer) -> dict[str, str]:
    return {"endpoint_url": server.endpoint_url, "key": S3_KEY, "secret": S3_SECRET}


@pytest.fixture(scope="session")
def weed() -> Iterator[SeaweedServer]:
    """One SeaweedFS (a real object store that checks signatures and checksums) per session.

    Tests that need it are skipped, saying why, where it cannot start.
    """
    server = SeaweedServer()
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"SeaweedFS cannot start here: {exc}")
    yield server
    server.stop()


@pytest.fixture
def weed_bucket(weed: SeaweedServer) -> str:
    """A new, empty bucket on the session's SeaweedFS."""
    import boto3

    name = f"t-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", region_name="us-east-1", **weed_client_options(weed)).create_bucket(
        Bucket=name
    )
    return name


def weed_client_options(server: SeaweedServer) -> dict[str, str]:
    """boto3 client arguments for the SeaweedFS server."""
    return {
        "endpoint_url": server.endpoint_url,
        "aws_access_key_id": WEED_KEY,
        "aws_secret_access_key": WEED_SECRET,
    }


def weed_options(server: SeaweedServer) -> dict[str, str]:
    """Store options for the SeaweedFS server."""
    return {"endpoint_url": server.endpoint_url, "key": WEED_KEY, "secret": WEED_SECRET}


@pytest.fixture
def memory_url() -> Iterator[str]:
    """A fresh ``memory://`` root, removed afterwards."""
    import fsspec

    url = f"memory://test-{uuid.uuid4().hex[:8]}"
    yield url
    fs = fsspec.filesystem("memory")
    if fs.exists(url):
        fs.rm(url, recursive=True)


@pytest.fixture
def local_root(tmp_path: Path) -> Path:
    return tmp_path / "agent_data"
