"""The report page in headless Chromium (Debian's `chromium`, driven over the DevTools
protocol): it loads from disk without console errors, failed loads or CSP violations, every
figure decodes, the escaped model text stays text, and a full-page screenshot is saved (its
path is printed; run with `-s` to see it)."""

from __future__ import annotations

import pytest

from telcotune.report import build_report

from .cdp import CHROMIUM, Chromium
from .test_report import FIGURES, SECTION_TITLES, make_study

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason=f"{CHROMIUM} not found: install the Debian package `chromium`")


def test_report_opens_in_chromium_without_errors(tmp_path):
    index = build_report(make_study(tmp_path / "study"))
    with Chromium.launch(tmp_path) as browser:
        page = browser.open(index.as_uri())
        headings = page.evaluate("Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
        images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
        scripts = page.evaluate("document.scripts.length")
        evil = page.evaluate("Array.from(document.querySelectorAll('.answer .text'))"
                             ".some(t => t.textContent.includes('<script>alert(\"pwned\")</script>'))")
        shot = page.screenshot(tmp_path / "report.png")
        errors = page.errors()
    assert not errors, errors
    assert headings == ["Contents", *SECTION_TITLES]
    assert len(images) == len(FIGURES) and all(done and width > 0 for done, width in images), images
    assert scripts == 0 and evil  # the answer's markup is shown as text, never run
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 50_000
    print(f"screenshot: {shot}")
