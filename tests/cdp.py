"""A minimal Chrome DevTools Protocol client for tests: start Debian's headless `chromium`
(no browser download, no network), open a page, collect console messages, exceptions and log
entries, evaluate JavaScript, take full-page screenshots. Uses only the `websockets` package.

    with Chromium.launch(tmp_path) as browser:
        page = browser.open("file:///.../index.html")
        assert not page.errors()
        page.screenshot(tmp_path / "page.png")
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("TELCOTUNE_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--remote-debugging-port=0",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
         "--no-default-browser-check", "--hide-scrollbars")


class Page:
    """One browser tab (a flattened CDP session); every event received is kept in `events`."""

    def __init__(self, ws: Any, session: str | None = None):
        self.ws, self.session = ws, session
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, timeout_s: float = 30.0, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout_s
        while True:
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method: str, timeout_s: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while not any(e["method"] == method for e in self.events):
            event = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if "method" in event:
                self.events.append(event)
        return next(e for e in self.events if e["method"] == method)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 60.0) -> Any:
        """Poll until the expression is truthy; returns its value."""
        deadline = time.monotonic() + timeout_s
        while not (value := self.evaluate(expression)):
            assert time.monotonic() < deadline, f"timed out waiting for: {expression}"
            time.sleep(0.1)
        return value

    def errors(self) -> list[dict[str, Any]]:
        """Console errors, uncaught exceptions, and browser log errors (failed loads, CSP)."""
        return [e for e in self.events
                if (e["method"] == "Runtime.consoleAPICalled" and e["params"].get("type") in ("error", "assert"))
                or (e["method"] == "Log.entryAdded" and e["params"]["entry"].get("level") == "error")
                or e["method"] == "Runtime.exceptionThrown"]

    def screenshot(self, path: Path, width_px: int = 1280) -> Path:
        """The whole page, not just the viewport."""
        height = self.evaluate("Math.ceil(document.documentElement.scrollHeight)")
        self.call("Emulation.setDeviceMetricsOverride", width=width_px, height=height, deviceScaleFactor=1,
                  mobile=False)
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": width_px, "height": height, "scale": 1})
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


class Chromium:
    def __init__(self, ws: Any):
        self.ws = ws
        self.browser = Page(ws)

    def new_context(self) -> str:
        """A browser context of its own (like a separate profile: no shared storage or cookies)."""
        return self.browser.call("Target.createBrowserContext")["browserContextId"]

    def open(self, url: str, timeout_s: float = 30.0, context: str | None = None) -> Page:
        """A new tab at `url` (in browser context `context`, else the default one), returned
        once its load event fired."""
        extra = {"browserContextId": context} if context else {}
        target = self.browser.call("Target.createTarget", url="about:blank", **extra)["targetId"]
        session = self.browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self.ws, session)
        for domain in ("Runtime", "Log", "Page"):
            page.call(f"{domain}.enable")
        page.call("Page.navigate", url=url)
        page.wait_event("Page.loadEventFired", timeout_s)
        return page

    @classmethod
    @contextmanager
    def launch(cls, workdir: Path, timeout_s: float = 60.0) -> Iterator["Chromium"]:
        """Start chromium with its profile and log in `workdir`; stopped (by pid) on exit."""
        from websockets.sync.client import connect

        profile, log_path = workdir / "chromium-profile", workdir / "chromium.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                       stdout=log, stderr=log)
            try:
                port, path = _devtools_address(profile / "DevToolsActivePort", process, log_path, timeout_s)
                with connect(f"ws://127.0.0.1:{port}{path}", max_size=256 * 2**20, open_timeout=20) as ws:
                    yield cls(ws)
            finally:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


def _devtools_address(port_file: Path, process: subprocess.Popen, log_path: Path, timeout_s: float) -> tuple[str, str]:
    deadline = time.monotonic() + timeout_s
    while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited: {log_path.read_text(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError("chromium did not open its DevTools port")
        time.sleep(0.1)
    port, path = port_file.read_text().splitlines()[:2]
    return port, path
