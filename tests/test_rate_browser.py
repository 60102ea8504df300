"""The rating page in headless Chromium (Debian's package, over the DevTools protocol): a rater
enters a name and rates 10 pairs, by clicking and by keyboard, reloads half-way and resumes,
undoes one rating; at the same time a second rater in a second browser context (own storage),
on a phone-sized screen, rates 10 pairs too. Afterwards the SQLite file holds exactly the 20
ratings with the runs and orders the page showed, the two raters met the items in different
orders, and neither page logged an error. Screenshots' paths are printed (run with `-s`)."""

from __future__ import annotations

import base64
import json
import sqlite3

import pytest

from telcotune.rate.app import RatingSession, create_app
from telcotune.rate.commands import open_store
from telcotune.serve.server import ServerThread

from .cdp import CHROMIUM, Chromium, Page
from .rate_study import run_of, write_study

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(),
                                 reason=f"{CHROMIUM} not found: install the Debian package `chromium`")]

PER_RATER = 10
VERDICTS = ("A", "B", "tie", "both_bad")
KEYS = {"A": ("a", "KeyA"), "B": ("b", "KeyB"), "tie": ("t", "KeyT"), "both_bad": ("x", "KeyX"), "undo": ("u", "KeyU")}
SHOWN = """(() => {
  const task = document.getElementById('task'), done = document.getElementById('finished');
  if (document.body.dataset.busy || (task.hidden && done.hidden)) return null;
  return {item: task.hidden ? null : task.dataset.item,
          progress: document.getElementById('progress').textContent,
          a: task.hidden ? null : document.querySelector('#answer-A .text').textContent,
          b: task.hidden ? null : document.querySelector('#answer-B .text').textContent};
})()"""


def shown(page: Page, not_item: str | None = "") -> dict:
    """What the page shows once it shows an item other than `not_item`."""
    return page.wait_for(f"(() => {{ const s = {SHOWN}; return s && s.item !== {json.dumps(not_item)} ? s : null }})()",
                         timeout_s=20)


def rendered(page: Page) -> list[str]:
    """Which of the page's three parts are actually displayed (not only flagged hidden)."""
    return page.evaluate("['join', 'task', 'finished'].filter(id => "
                         "getComputedStyle(document.getElementById(id)).display !== 'none')")


def press(page: Page, action: str) -> None:
    key, code = KEYS[action]
    for kind in ("keyDown", "keyUp"):
        page.call("Input.dispatchKeyEvent", type=kind, key=key, code=code, text=key if kind == "keyDown" else "")


def choose(page: Page, verdict: str, by_keyboard: bool) -> None:
    if by_keyboard:
        press(page, verdict)
    else:
        page.evaluate(f"document.getElementById('vote-{verdict}').click()")


def join(page: Page, name: str) -> dict:
    page.wait_for("document.body.dataset.ready === 'true' && !document.getElementById('join').hidden")
    page.evaluate(f"document.getElementById('name').value = {json.dumps(name)};"
                  "document.getElementById('start').click()")
    return shown(page, None)


def reload(page: Page) -> None:
    page.events.clear()
    page.call("Page.reload")
    page.wait_event("Page.loadEventFired")
    page.wait_for("document.body.dataset.ready === 'true'")


def screenshot(page: Page, path) -> None:
    path.write_bytes(base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"]))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class Rater:
    """One rater's page and what it was shown and chose, in order."""

    def __init__(self, page: Page, name: str):
        self.page, self.name = page, name
        self.current = join(page, name)
        self.rated: list[tuple[str, str, str]] = []  # (run shown as A, run shown as B, verdict)

    def rate(self, verdict: str, by_keyboard: bool) -> None:
        before = self.current
        choose(self.page, verdict, by_keyboard)
        self.current = shown(self.page, before["item"])
        self.rated.append((run_of(before["a"]), run_of(before["b"]), verdict))

    def undo(self) -> None:
        press(self.page, "undo")
        self.current = shown(self.page, self.current["item"])
        self.rated.pop()


def test_two_raters_rate_resume_and_undo_in_two_browser_contexts(tmp_path, capsys):
    study = write_study(tmp_path / "study", n_prompts=6)
    store, book = open_store(study.root, ("pairwise",))
    app = create_app(RatingSession(store, book, "pairwise", PER_RATER))
    with ServerThread(app) as server, Chromium.launch(tmp_path) as chromium:
        ada_page = chromium.open(f"{server.base_url}/")
        brian_page = chromium.open(f"{server.base_url}/", context=chromium.new_context())
        brian_page.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2, mobile=True)
        assert rendered(ada_page) == ["join"]
        ada, brian = Rater(ada_page, "Ada"), Rater(brian_page, "Brian")
        assert ada.current["progress"] == "0 of 10" == brian.current["progress"]
        assert rendered(ada_page) == ["task"] == rendered(brian_page)
        assert ada_page.evaluate("getComputedStyle(document.getElementById('key-label')).display") == "none"
        first_items = (ada.current["item"], brian.current["item"])

        for i in range(PER_RATER):
            ada.rate(VERDICTS[i % 4], by_keyboard=i % 2 == 1)
            brian.rate(VERDICTS[(i + 1) % 4], by_keyboard=i % 2 == 0)
            if i == 4:
                # Ada reloads: her name is remembered, she resumes on the same item at 5 of 10
                before = ada.current
                reload(ada_page)
                ada.current = shown(ada_page, None)
                assert ada.current == before and ada.current["progress"] == "5 of 10"
            if i == 6:
                # Ada undoes her last rating: its item comes back with her choice marked
                undone_item = ada.rated[-1]
                ada.undo()
                assert (run_of(ada.current["a"]), run_of(ada.current["b"])) == undone_item[:2]
                assert ada.current["progress"] == "6 of 10"
                marked = ada_page.evaluate("document.querySelector('.vote.chosen')?.dataset.verdict")
                assert marked == undone_item[2]
                ada.rate("tie", by_keyboard=True)

        for rater in (ada, brian):
            assert rater.current == {"item": None, "progress": "10 of 10", "a": None, "b": None}
            assert "You rated 10 of 10" in rater.page.evaluate("document.getElementById('finished-text').textContent")
            assert rendered(rater.page) == ["finished"]
        assert brian_page.evaluate("document.documentElement.scrollWidth") <= 390  # fits a phone
        for name, page in (("ada", ada_page), ("brian", brian_page)):
            screenshot(page, tmp_path / f"rate-{name}.png")
            page.evaluate("new Promise(r => setTimeout(r, 200))")
            assert page.errors() == [], page.errors()
        with capsys.disabled():
            print(f"\nrating page screenshots: {tmp_path / 'rate-ada.png'}, {tmp_path / 'rate-brian.png'}")

    with sqlite3.connect(store.path) as conn:
        rows = conn.execute("SELECT ra.name, r.run_first, r.run_second, r.verdict, i.run_first, i.run_second "
                            "FROM ratings r JOIN raters ra ON ra.id = r.rater_id JOIN items i ON i.id = r.item_id "
                            "ORDER BY r.id").fetchall()
    assert len(rows) == 2 * PER_RATER  # nothing lost
    for rater in (ada, brian):
        mine = [row for row in rows if row[0] == rater.name]
        assert [(a, b, v) for _, a, b, v, _, _ in mine] == rater.rated  # the runs and order the page showed
        assert all((a, b) == (ia, ib) for _, a, b, _, ia, ib in mine)  # shown in the item's stored order
    ada_items = [(a, b) for name, a, b, *_ in rows if name == "Ada"]
    brian_items = [(a, b) for name, a, b, *_ in rows if name == "Brian"]
    assert first_items[0] != first_items[1] and ada_items != brian_items  # different orders
