"""The chat page in headless Chromium, driven over the Chrome DevTools Protocol (no browser
download, no new dependency): enter the API key, pick an adapter, send two messages, watch the
replies stream in with the answering model named, and check the console stayed clean. The
screenshot's path is printed (run with `-s` to see it)."""

from __future__ import annotations

import base64
import json

import pytest

from telcotune.serve.app import create_app
from telcotune.serve.engine import ChatEngine
from telcotune.serve.limits import ServeLimits
from telcotune.serve.server import ServerThread
from telcotune.serve.target import study_target

from .cdp import CHROMIUM, Chromium, Page
from .test_serve_study import build_study

KEY = "browser-key-456"
NEW_TOKENS = 12

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason=f"{CHROMIUM} not found: install the Debian package `chromium`")


pytestmark = [pytestmark, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture()
def browser(tmp_path) -> Page:
    with Chromium.launch(tmp_path) as chromium:
        yield chromium.open("about:blank")


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


def send(devtools: Page, text: str) -> None:
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
