"""A real headless Chromium, driven over the DevTools protocol, to open pages as a person would.

Debian's ``chromium`` package (``apt-get install -y chromium``). The browser runs
with a throw-away profile and without any of its own background traffic, so
every request it records is one the page made. Opening a page records every
request, failed load, console message, uncaught exception, browser log entry
(a Content-Security-Policy violation is one) and JavaScript dialog, then takes
a screenshot.

Run as a script to screenshot a page: ``python tests/chromium.py URL OUT.png [1200 900]``.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",  # Chromium picks a free port and writes it to DevToolsActivePort
]


def chromium_binary() -> str | None:
    """Debian's ``chromium`` (or another Chromium build on PATH), or ``None``."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageReport:
    """What happened while a page loaded."""

    requests: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    console: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    dialogs: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    """What the page's DOM says (see :data:`FACTS`)."""
    screenshot: bytes = b""


#: Evaluated in the loaded page (DevTools evaluation is not subject to the page's CSP).
FACTS = """JSON.stringify({
  title: document.title,
  images: document.images.length,
  imagesDrawn: [...document.images].filter(i => i.complete && i.naturalWidth > 0).length,
  details: document.querySelectorAll('details').length,
  scripts: document.scripts.length,
  height: document.documentElement.scrollHeight,
  text: document.body.innerText,
})"""


class Chromium:
    """One headless Chromium process; :meth:`open` loads a page in a fresh tab."""

    def __init__(self, binary: str) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="pyexec-chromium-"))
        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("Chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        self.port = int(port_file.read_text().split()[0])

    def _http(self, path: str, method: str = "GET") -> bytes:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            data: bytes = response.read()
            return data

    def open(self, url: str, width: int = 1200, height: int = 900) -> PageReport:
        import websocket  # websocket-client

        target = json.loads(self._http("/json/new?about:blank", method="PUT"))
        ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30)
        report = PageReport()
        ids = iter(range(1, 1_000_000))
        answers: dict[int, Any] = {}

        def handle(message: dict[str, Any]) -> None:
            method, params = message.get("method"), message.get("params", {})
            if method == "Network.requestWillBeSent":
                report.requests.append(params["request"]["url"])
            elif method == "Network.loadingFailed":
                report.failed.append(params)
            elif method == "Runtime.consoleAPICalled":
                report.console.append(params)
            elif method == "Runtime.exceptionThrown":
                report.exceptions.append(params)
            elif method == "Log.entryAdded":
                report.log.append(params["entry"])
            elif method == "Page.javascriptDialogOpening":
                report.dialogs.append(params)
                send("Page.handleJavaScriptDialog", accept=False)
            if "id" in message:
                answers[message["id"]] = message

        def send(method: str, **params: Any) -> int:
            number = next(ids)
            ws.send(json.dumps({"id": number, "method": method, "params": params}))
            return number

        def call(method: str, **params: Any) -> Any:
            number = send(method, **params)
            while number not in answers:
                handle(json.loads(ws.recv()))
            answer = answers.pop(number)
            if "error" in answer:
                raise RuntimeError(f"{method}: {answer['error']}")
            return answer.get("result", {})

        def wait_for(event: str, seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                message = json.loads(ws.recv())
                handle(message)
                if message.get("method") == event:
                    return
            raise TimeoutError(f"no {event} within {seconds} s")

        try:
            for domain in ("Network", "Runtime", "Log", "Page"):
                call(f"{domain}.enable")
            call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                 deviceScaleFactor=1, mobile=False)  # fmt: skip
            call("Page.navigate", url=url)
            wait_for("Page.loadEventFired", 30)
            time.sleep(0.3)  # late console messages and log entries
            call("Runtime.evaluate", expression="0")  # drain what arrived meanwhile
            facts = call("Runtime.evaluate", expression=FACTS, returnByValue=True)
            report.facts = json.loads(facts["result"]["value"])
            shot = call("Page.captureScreenshot", format="png")
            report.screenshot = base64.b64decode(shot["data"])
        finally:
            ws.close()
            self._http(f"/json/close/{target['id']}")
        return report

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


if __name__ == "__main__":
    import sys

    binary = chromium_binary()
    if binary is None:
        sys.exit("chromium is not installed (Debian: apt-get install -y chromium)")
    page_url, out = sys.argv[1], Path(sys.argv[2])
    size = [int(v) for v in sys.argv[3:5]] or [1200, 900]
    browser = Chromium(binary)
    try:
        shown = browser.open(page_url, *size)
    finally:
        browser.stop()
    out.write_bytes(shown.screenshot)
    others = [u for u in shown.requests if not u.startswith("data:")]
    print(f"{out}: {len(shown.screenshot)} bytes; requests other than data: {others}")
    print(f"failed {len(shown.failed)}, console {len(shown.console)}, log {len(shown.log)}")
