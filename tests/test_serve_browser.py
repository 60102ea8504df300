"""The chat page in headless Chromium, driven over the Chrome DevTools Protocol (no browser
download, no new dependency): enter the API key, pick an adapter, send two messages, watch the
replies stream in with the answering model named, and check the console stayed clean. The
screenshot's path is printed (run with `-s` to see it)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from telcotune.serve.app import create_app
from telcotune.serve.engine import ChatEngine
from telcotune.serve.limits import ServeLimits
from telcotune.serve.server import ServerThread
from telcotune.serve.target import study_target

from .test_serve_study import build_study

CHROMIUM = Path(os.environ.get("TELCOTUNE_CHROMIUM", "/usr/bin/chromium"))
KEY = "browser-key-456"
NEW_TOKENS = 12

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason=f"{CHROMIUM} not found: install the Debian package `chromium`")


class DevTools:
    """A minimal CDP client over the browser's websocket; events are kept for later checks."""

    def __init__(self, ws: Any):
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def call(self, method: str, timeout_s: float = 30.0, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
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
        return [e for e in self.events
                if (e["method"] == "Runtime.consoleAPICalled" and e["params"].get("type") == "error")
                or (e["method"] == "Log.entryAdded" and e["params"]["entry"].get("level") == "error")
                or e["method"] == "Runtime.exceptionThrown"]


pytestmark = [pytestmark, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture()
def browser(tmp_path):
    profile = tmp_path / "profile"
    log = open(tmp_path / "chromium.log", "wb")
    process = subprocess.Popen(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--remote-debugging-port=0", f"--user-data-dir={profile}", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--window-size=1000,760", "about:blank"],
        stdout=log, stderr=log)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            assert process.poll() is None, f"chromium exited: {(tmp_path / 'chromium.log').read_text()[-2000:]}"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        from websockets.sync.client import connect

        with connect(f"ws://127.0.0.1:{port}{path}", max_size=64 * 2**20, open_timeout=20) as ws:
            devtools = DevTools(ws)
            target = devtools.call("Target.createTarget", url="about:blank")["targetId"]
            devtools.session = devtools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Runtime", "Log", "Page"):
                devtools.call(f"{domain}.enable")
            yield devtools
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


@pytest.fixture(scope="module")
def engine(tmp_path_factory, tiny_model_dir) -> ChatEngine:
    study = build_study(tmp_path_factory.mktemp("study"), tiny_model_dir)
    return ChatEngine.load(study_target(study.root, None), ServeLimits(default_new_tokens=NEW_TOKENS))


LAST_REPLY = """(() => {
  const all = document.querySelectorAll('.message.assistant');
  const m = all[all.length - 1];
  return m && m.dataset.done ? {count: all.length, done: m.dataset.done, chunks: Number(m.dataset.chunks || 0),
    text: m.querySelector('.text').textContent, meta: m.querySelector('.meta').textContent,
    model: m.dataset.model} : null;
})()"""


def send(devtools: DevTools, text: str) -> None:
    devtools.evaluate(f"document.getElementById('input').value = {json.dumps(text)};"
                      "document.getElementById('send').click()")


@pytest.mark.slow
def test_chat_page_streams_a_reply(browser, engine, tmp_path, capsys, monkeypatch):
    sent: list[list[dict]] = []  # what the page asked for, as the engine saw it
    prepare = engine.prepare
    monkeypatch.setattr(engine, "prepare",
                        lambda model, messages, *a: sent.append(messages) or prepare(model, messages, *a))
    with ServerThread(create_app(engine, api_key=KEY)) as server:
        browser.call("Page.navigate", url=f"{server.base_url}/")
        browser.wait_for("document.readyState === 'complete' && "
                         "document.getElementById('status').textContent.includes('API key')")
        browser.evaluate(f"const k = document.getElementById('api-key'); k.value = {json.dumps(KEY)};"
                         "k.dispatchEvent(new Event('change'))")
        options = browser.wait_for("Array.from(document.getElementById('model').options).map(o => o.value)"
                                   ".join(',') || null")
        assert options == "r4-a,r4-b,base"
        browser.evaluate("const s = document.getElementById('model'); s.value = 'r4-b';"
                         "s.dispatchEvent(new Event('change'))")

        first = [{"role": "user", "content": "My router lights are red, what now?"}]
        send(browser, first[0]["content"])
        reply = browser.wait_for(LAST_REPLY)
        expected = engine.reply(prepare("r4-b", first), lambda _: None).text
        assert reply["done"] == "true" and reply["text"] == expected and reply["chunks"] > 1
        assert reply["model"] == "r4-b" and "answered by r4-b" in reply["meta"]

        # the second message goes with the history: its reply is the answer to the whole conversation
        history = [*first, {"role": "assistant", "content": expected}, {"role": "user", "content": "And roaming?"}]
        send(browser, "And roaming?")
        browser.wait_for(f"({LAST_REPLY})?.count === 2")
        second = browser.evaluate(LAST_REPLY)
        assert sent == [first, history]
        assert second["text"] == engine.reply(prepare("r4-b", history), lambda _: None).text

        shot = tmp_path / "chat.png"
        shot.write_bytes(base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"]))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with capsys.disabled():
            print(f"\nchat page screenshot: {shot}")

        browser.evaluate("document.getElementById('reset').click()")
        assert browser.evaluate("document.querySelectorAll('.message').length") == 0
        browser.evaluate("new Promise(r => setTimeout(r, 300))")  # let late console events arrive
        assert browser.errors() == []
        browser.evaluate("console.error('probe')")  # the check above would have seen an error
        browser.evaluate("new Promise(r => setTimeout(r, 100))")
        assert len(browser.errors()) == 1
